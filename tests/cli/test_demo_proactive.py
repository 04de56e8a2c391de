"""The demo's proactive fraud alerts, in a real `threadline demo` process: alerts go out
by SMS through the fake provider, the simulated cardholders answer them, and what came
of each is on the API."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.cli.test_cli import process, run, wait_for_health
from tests.support.live import free_port
from threadline.demo_proactive import ANSWER, EVERY, NO, SEED, TEMPLATE, YES

# Alerts twice a second, answered within half a second. Seed 3 draws YES for the first
# alert and NO for the second, so both outcomes come at once.
FAST = {EVERY: "0.5", ANSWER: "0.5", SEED: "3"}
PASSWORD = "threadline-demo"


def _login(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _outcomes(base: str, headers: dict[str, str], wanted: set[str]) -> dict[str, Any]:
    """The first notification of each outcome, once every wanted outcome is there."""
    deadline = time.monotonic() + 40
    found: dict[str, Any] = {}
    while time.monotonic() < deadline and not wanted <= set(found):
        listed = httpx.get(f"{base}/api/v1/notifications", headers=headers).json()
        found = {}
        for n in reversed(listed):  # the API lists the newest first
            if n["outcome"]:
                found.setdefault(n["outcome"], n)
        time.sleep(0.2)
    assert wanted <= set(found), found
    return found


def _answered(thread: dict[str, Any], alert: dict[str, Any]) -> list[str]:
    """The alert's text in its thread and the two messages after it: the answer and
    the template's reply to it (a later alert to the same cardholder may follow)."""
    ids = [m["id"] for m in thread["messages"]]
    at = ids.index(alert["message_id"])
    return [m["text"] for m in thread["messages"][at : at + 3]]


def test_the_demo_sends_fraud_alerts_that_simulated_cardholders_answer(database_url: str) -> None:
    port = free_port()
    args = ["--port", str(port), "--database-url", database_url, "--customers-per-minute", "0"]
    with process("demo", *args, env=FAST) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, proc)
        sam = _login(base, "sam")
        outcomes = _outcomes(base, sam, {"resolved", "handed_off"})

        # YES: resolved by the answer alone, the thanks sent, no agent woken.
        yes = httpx.get(f"{base}/api/v1/notifications/{outcomes['resolved']['id']}", headers=sam)
        decisions = [d["decision"] for d in yes.json()["decisions"]]
        assert decisions[0] == "sent"
        assert decisions[-1] == "resolved"
        thread = httpx.get(
            f"{base}/api/v1/conversations/{yes.json()['conversation_id']}", headers=sam
        ).json()
        assert thread["conversation"]["state"] not in ("queued", "assigned")
        alert, answer, reply = _answered(thread, yes.json())
        assert alert.startswith("Acme Outdoor: did you just order")
        assert answer in YES
        assert reply == "Thanks! Your order is on its way."

        # NO: the conversation waits in the fraud queue, the alert as its context, and
        # the fraud team's agent sees it.
        no = outcomes["handed_off"]
        fran = _login(base, "fran")
        r = httpx.get(f"{base}/api/v1/conversations/{no['conversation_id']}", headers=fran)
        assert r.status_code == 200, r.text
        conversation = r.json()["conversation"]
        assert conversation["queue"] == "fraud"
        assert conversation["state"] == "queued"
        assert TEMPLATE in conversation["handoff"]["summary"]
        assert set(conversation["handoff"]["fields"]) == {"item", "amount"}
        alert, answer, reply = _answered(r.json(), no)
        assert alert.startswith("Acme Outdoor: did you just order")
        assert answer in NO
        assert reply.startswith("We have stopped the order")

        report = httpx.get(f"{base}/api/v1/reports/notifications", headers=sam).json()
        [figures] = [f for f in report if f["template"] == TEMPLATE]
        assert figures["purpose"] == "fraud_alert"
        assert figures["deflected"] >= 1
        assert figures["handed_off"] >= 1

        proc.terminate()
        printed = proc.stdout.read() if proc.stdout else ""
    assert "Fraud alerts: about every 0.5 s" in printed
    assert f"{base}/api/v1/reports/notifications" in printed


def test_the_demo_names_a_bad_fraud_alert_setting_in_one_line(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    result = run("demo", "--port", str(free_port()), "--database-url", url, env={EVERY: "often"})
    assert result.returncode == 2
    assert f"{EVERY}: a number of seconds" in result.stderr
    assert "Traceback" not in result.stderr
