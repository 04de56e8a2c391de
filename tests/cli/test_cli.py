"""The `threadline` command, run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.live import free_port

THREADLINE = str(Path(sys.executable).with_name("threadline"))


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [THREADLINE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    first = run("db", "upgrade", "--database-url", url)
    second = run("db", "upgrade", "--database-url", url)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "database at revision head" in first.stdout


def test_agent_create_reads_the_password_from_the_environment(database_url: str) -> None:
    result = run(
        "agent",
        "create",
        "alice",
        "--skill",
        "billing",
        "--skill",
        "general",
        "-P",
        "2",
        "-M",
        "3",
        "--database-url",
        database_url,
        env={"THREADLINE_AGENT_PASSWORD": "long enough pw"},
    )
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"created agent alice \([0-9a-f-]{36}\) skills=billing,general P=2 M=3", result.stdout
    )
    listed = run("agent", "list", "--database-url", database_url)
    assert "alice" in listed.stdout
    assert "0/2 (max 3)" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-P", "4", "-M", "2"], "max_load must be at least preferred_concurrency"),
        (["--skill", "no spaces"], "a skill is 1-64 characters"),
        (["--role", "king"], "Invalid value for '--role'"),
    ],
)
def test_agent_create_names_the_problem_with_bad_input(
    database_url: str, args: list[str], message: str
) -> None:
    result = run(
        "agent",
        "create",
        "bob",
        *args,
        "--database-url",
        database_url,
        env={"THREADLINE_AGENT_PASSWORD": "long enough pw"},
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_username_is_reported_without_a_traceback(database_url: str) -> None:
    env = {"THREADLINE_AGENT_PASSWORD": "long enough pw"}
    assert run("agent", "create", "carol", "--database-url", database_url, env=env).returncode == 0
    again = run("agent", "create", "carol", "--database-url", database_url, env=env)
    assert again.returncode == 2
    assert "error: the username 'carol' is taken" in again.stderr


def test_a_database_without_schema_gets_a_hint_not_a_traceback(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = run("agent", "list", "--database-url", url)
    assert result.returncode == 2
    assert "run `threadline db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr


@contextmanager
def process(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [THREADLINE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def wait_for_health(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the service did not become healthy")


def test_serve_runs_the_service_that_cli_created_agents_and_inboxes_use(database_url: str) -> None:
    env = {"THREADLINE_DATABASE_URL": database_url, "THREADLINE_AGENT_PASSWORD": "long enough pw"}
    assert run("agent", "create", "alice", env=env).returncode == 0
    inbox = run("inbox", "create", "Web shop", env=env)
    token = re.search(r"token \(shown once\): (\S+)", inbox.stdout)
    assert token, inbox.stdout
    port = free_port()
    with process("serve", "--port", str(port), env=env) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, proc)
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] == "ok"
        assert health["database"] == (
            "sqlite" if database_url.startswith("sqlite") else "postgresql"
        )
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "alice", "password": "long enough pw"}
        )
        assert login.status_code == 200
        posted = httpx.post(
            f"{base}/api/v1/channel/messages",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            json={"customer": {"address": "c1"}, "text": "hello"},
        )
        assert posted.status_code == 201
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Threadline"


def test_serve_refuses_to_start_on_a_database_without_schema(tmp_path: Path) -> None:
    result = run(
        "serve",
        "--port",
        "0",
        env={"THREADLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"},
    )
    assert result.returncode == 2
    assert "threadline db upgrade" in result.stderr


def test_the_demo_serves_demo_agents_and_simulated_customers(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    with process(
        "demo", "--port", str(port), "--database-url", url, "--customers-per-minute", "300", env={}
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, proc)
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "sam", "password": "threadline-demo"}
        )
        assert login.status_code == 200
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        deadline = time.monotonic() + 20
        conversations: list[object] = []
        while time.monotonic() < deadline and len(conversations) < 2:
            conversations = httpx.get(f"{base}/api/v1/conversations", headers=headers).json()
            time.sleep(0.3)
        assert len(conversations) >= 2
        agents = {a["username"] for a in httpx.get(f"{base}/api/v1/agents", headers=headers).json()}
        assert {"alice", "bob", "carol", "sam", "ada"} <= agents
        # SMS and WhatsApp customers arrive through the fake provider too.
        channels: set[str] = set()
        while time.monotonic() < deadline + 20 and not {"sms", "whatsapp"} <= channels:
            found = httpx.get(f"{base}/api/v1/conversations?limit=200", headers=headers).json()
            channels = {c["channel"] for c in found}
            time.sleep(0.3)
        assert {"sms", "whatsapp"} <= channels, channels


def test_an_agent_reply_in_the_demo_reaches_the_fake_phone_and_comes_back_delivered(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    with process(
        "demo", "--port", str(port), "--database-url", url, "--customers-per-minute", "120", env={}
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, proc)
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "bob", "password": "threadline-demo"}
        ).json()
        headers = {"Authorization": f"Bearer {login['token']}"}
        httpx.put(
            f"{base}/api/v1/agents/{login['agent']['id']}/status",
            json={"status": "online"},
            headers=headers,
        )
        sam = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "sam", "password": "threadline-demo"}
        ).json()
        floor = {"Authorization": f"Bearer {sam['token']}"}
        deadline = time.monotonic() + 40
        chosen = None
        while time.monotonic() < deadline and chosen is None:
            # Bob's two slots may fill with other channels first: then the supervisor
            # hands him a waiting SMS conversation, as a floor manager would.
            found = httpx.get(f"{base}/api/v1/conversations?limit=200", headers=floor).json()
            sms = [c for c in found if c["channel"] == "sms" and c["state"] != "closed"]
            for c in sms:
                if c["assigned_agent_id"] == login["agent"]["id"]:
                    chosen = c["id"]
                elif c["state"] == "queued":
                    moved = httpx.post(
                        f"{base}/api/v1/conversations/{c['id']}/transfer",
                        json={"to_agent_id": login["agent"]["id"]},
                        headers=floor,
                    )
                    chosen = c["id"] if moved.status_code == 200 else None
                if chosen:
                    break
            time.sleep(0.3)
        assert chosen, "no SMS conversation reached bob"
        conversation = f"{base}/api/v1/conversations/{chosen}"
        reply = httpx.post(f"{conversation}/messages", json={"text": "On it!"}, headers=headers)
        assert reply.status_code == 201, reply.text
        status = "queued"
        while time.monotonic() < deadline + 20 and status != "delivered":
            thread = httpx.get(conversation, headers=headers).json()["messages"]
            status = next(m["delivery_status"] for m in thread if m["id"] == reply.json()["id"])
            time.sleep(0.3)
        assert status == "delivered"


def test_inbox_connect_needs_the_secret_in_the_environment_and_names_it(
    database_url: str,
) -> None:
    env = {"THREADLINE_DATABASE_URL": database_url}
    assert run("inbox", "create", "Texts", "--channel", "sms", env=env).returncode == 0
    args = ["inbox", "connect", "Texts", "--provider", "twilio", "--account", "AC" + "1" * 32,
            "--address", "+15550001111", "--secret-name", "acme_sms"]  # fmt: skip
    refused = run(*args, env=env)
    assert refused.returncode == 2
    assert "THREADLINE_SECRET_ACME_SMS_AUTH_TOKEN" in refused.stderr
    assert "Traceback" not in refused.stderr
    connected = run(*args, env={**env, "THREADLINE_SECRET_ACME_SMS_AUTH_TOKEN": "x" * 32})
    assert connected.returncode == 0, connected.stderr
    assert "connected to twilio at +15550001111" in connected.stdout
    wrong = run(*args[:-4], "--address", "5550001111", "--secret-name", "acme_sms", env=env)
    assert wrong.returncode == 2
    assert "not a twilio business address" in wrong.stderr


def test_classify_prints_the_label_of_a_message_after_the_last_outbound() -> None:
    closing = run("classify", "--after", "Anything else I can help with?", "no thanks")
    act_on = run("classify", "--json", "--after", "Shall I cancel the order?", "ok")
    assert closing.returncode == 0, closing.stderr
    assert closing.stdout.strip() == "closing"
    assert act_on.returncode == 0, act_on.stderr
    assert '"kind": "substantive"' in act_on.stdout


def test_classify_evaluates_a_labelled_file(tmp_path: Path) -> None:
    labelled = tmp_path / "set.csv"
    labelled.write_text(
        "language,last_outbound,message,label\n"
        'en,"Anything else?",no thanks,closing\n'
        "en,Done.,thanks!,ineffectual\n"
        "en,Done.,it still fails,substantive\n",
        encoding="utf-8",
    )
    result = run("classify", "--evaluate", str(labelled))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["messages"] == 3
    for kind in ("closing", "ineffectual", "substantive"):
        assert report["by_kind"][kind]["support"] == 1
        assert report["by_kind"][kind]["predicted"] == 1
        assert report["by_kind"][kind]["precision"] == 1.0


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("classify",), "give the message to classify"),
        (("classify", "--lexicons", "/nonexistent", "hi"), "not a directory"),
        (("classify", "--evaluate", "/nonexistent.csv"), "cannot be read"),
    ],
)
def test_classify_names_what_is_wrong(args: tuple[str, ...], complaint: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_lexicon_directory_before_starting(tmp_path: Path) -> None:
    (tmp_path / "xx.toml").write_text('language = "xx"\nnegatives = "no"\n', encoding="utf-8")
    result = run("serve", "--port", "0", env={"THREADLINE_LEXICONS_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "xx.toml: 'negatives' must be a list" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"THREADLINE_PORT": "abc"}, "THREADLINE_PORT: Input should be a valid integer"),
        ({"THREADLINE_DATABASE_URL": "foo://"}, "unsupported database 'foo'"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(env: dict[str, str], complaint: str) -> None:
    result = run("serve", env=env)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_names_a_taken_port_instead_of_failing_later(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
        result = run("demo", "--port", str(port), "--database-url", url)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_inbox_widget_configures_the_chat_and_prints_its_script_tag(database_url: str) -> None:
    created = run(
        "inbox", "create", "Site chat", "--channel", "web", "--database-url", database_url
    )
    assert created.returncode == 0, created.stderr
    first = run(
        "inbox",
        "widget",
        "Site chat",
        "--title",
        "Acme help",
        "--origin",
        "https://shop.example",
        "--public-url",
        "https://chat.acme.example/",
        "--rotate-identity-secret",
        "--database-url",
        database_url,
    )
    assert first.returncode == 0, first.stderr
    key = re.search(r'data-key="(wk_[\w-]+)"', first.stdout)
    assert key is not None, first.stdout
    assert '<script src="https://chat.acme.example/widget/loader.js"' in first.stdout
    assert "embeddable on https://shop.example" in first.stdout
    assert "identity secret (shown once" in first.stdout

    # Unchanged options keep their values; the key never changes.
    again = run(
        "inbox", "widget", "Site chat", "--color", "#aa3300", "--database-url", database_url
    )
    assert again.returncode == 0, again.stderr
    assert f'data-key="{key.group(1)}"' in again.stdout
    assert "'Acme help', embeddable on https://shop.example" in again.stdout
    assert "identity secret" not in again.stdout

    for args, problem in (
        (("No such inbox",), "no inbox named 'No such inbox'"),
        (("Site chat", "--color", "red"), "accent_color is a colour like #1f4fd1"),
        (("Site chat", "--origin", "shop.example"), "is not an origin like"),
        (("Site chat", "--origin", "https://a.example", "--any-site"), "contradict"),
    ):
        bad = run("inbox", "widget", *args, "--database-url", database_url)
        assert bad.returncode == 2, (args, bad.stdout)
        assert problem in bad.stderr
        assert "Traceback" not in bad.stderr
