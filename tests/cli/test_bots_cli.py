"""`threadline inbox bot` and `threadline queue hours` as an admin runs them, in real
processes: what they set is what the service reads, and mistakes are named."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run
from threadline.demo_bots import demo_flow


def test_inbox_bot_and_queue_hours_set_what_the_service_reads(
    database_url: str, tmp_path: Path
) -> None:
    env = {"THREADLINE_DATABASE_URL": database_url}
    assert run("inbox", "create", "Shop", env=env).returncode == 0
    flow = tmp_path / "flow.yaml"
    flow.write_text(demo_flow("http://127.0.0.1:9"), encoding="utf-8")
    args = ["inbox", "bot", "Shop", "--flow", str(flow), "--secret-name", "acme"]
    refused = run(*args, env=env)
    assert refused.returncode == 2
    assert "THREADLINE_SECRET_ACME_BOT_KEY" in refused.stderr
    served = run(*args, env={**env, "THREADLINE_SECRET_ACME_BOT_KEY": "k" * 32})
    assert served.returncode == 0, served.stderr
    assert "'Shop' is served by 'Acme assistant'" in served.stdout
    flow.write_text("name: Shop\nmessages: {greeting: hi}\n", encoding="utf-8")
    bad = run("inbox", "bot", "Shop", "--flow", str(flow), env=env)
    assert bad.returncode == 2
    assert "line 1: intents is required" in bad.stderr
    hours = tmp_path / "hours.json"
    hours.write_text(json.dumps({"timezone": "Europe/Madrid", "weekly": {"mon": ["08:00-18:00"]}}))
    assert run("queue", "hours", "general", "--file", str(hours), env=env).returncode == 0
    removed = run("inbox", "bot", "Shop", "--remove", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "has no bot now" in removed.stdout
