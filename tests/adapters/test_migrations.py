"""Migrations: what an upgrade does to a database that already holds conversations."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from threadline.adapters.migrate import upgrade


def _insert_conversation(db: sqlite3.Connection, state: str, waiting_on: str) -> str:
    """A conversation as revision 0002 stored it (ids as SQLAlchemy stores UUIDs)."""
    ids = {name: uuid.uuid4().hex for name in ("conv", "customer", "inbox", "session")}
    now = "2026-03-02 09:00:00.000000"
    db.execute("INSERT INTO customers (id, created_at) VALUES (?, ?)", (ids["customer"], now))
    db.execute(
        "INSERT INTO inboxes (id, name, channel, skill, token_hash, created_at) "
        "VALUES (?, ?, 'api', 'general', ?, ?)",
        (ids["inbox"], ids["inbox"], ids["inbox"], now),
    )
    db.execute(
        "INSERT INTO conversations (id, customer_id, inbox_id, channel, skill, state, "
        "session_id, session_seq, waiting_on, respond_by, pace, opened_at, updated_at, "
        "last_outbound_at) VALUES (?, ?, ?, 'api', 'general', ?, ?, 1, ?, ?, 120, ?, ?, ?)",
        (
            ids["conv"],
            ids["customer"],
            ids["inbox"],
            state,
            ids["session"],
            waiting_on,
            "2026-03-02 09:04:00.000000" if waiting_on == "agent" else None,
            now,
            now,
            now if waiting_on == "customer" else None,
        ),
    )
    return ids["conv"]


def test_upgrading_gives_conversations_already_open_their_timers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    with sqlite3.connect(tmp_path / "old.db") as db:
        silent = _insert_conversation(db, "assigned", "customer")
        waiting = _insert_conversation(db, "queued", "agent")
        closed = _insert_conversation(db, "closed", "nobody")

    upgrade(url)

    with sqlite3.connect(tmp_path / "old.db") as db:
        rows = db.execute(
            "SELECT conversation_id, kind, due_at FROM conversation_timers"
        ).fetchall()
    by_conv = {conv: (kind, due) for conv, kind, due in rows}
    assert set(by_conv) == {silent, waiting}  # the closed one needs none
    assert by_conv[silent][0] == "inactivity"
    assert by_conv[waiting] == ("respond_by", "2026-03-02 09:04:00.000000")
    assert closed not in by_conv


def test_upgrading_writes_phone_identities_in_e164_unless_that_number_is_taken(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    typed = {
        ("sms", "+1-555-010-0000"): "+15550100000",
        ("rcs", "+44(20)7946.0958"): "+442079460958",
        ("sms", "5550100001"): "5550100001",  # no country code: not guessed
        ("sms", "+15550100002"): "+15550100002",
        ("sms", "+1-555-010-0002"): "+1-555-010-0002",  # the same number as another's
        ("whatsapp", "1-555-010-0003"): "1-555-010-0003",  # not a phone channel here
    }
    owners = {}
    with sqlite3.connect(tmp_path / "old.db") as db:
        for channel, address in typed:
            customer = uuid.uuid4().hex
            owners[(channel, address)] = customer
            now = "2026-03-02 09:00:00.000000"
            db.execute("INSERT INTO customers (id, created_at) VALUES (?, ?)", (customer, now))
            db.execute(
                "INSERT INTO customer_identities (channel, address, customer_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                (channel, address, customer, now),
            )

    upgrade(url)

    with sqlite3.connect(tmp_path / "old.db") as db:
        rows = db.execute("SELECT channel, address, customer_id FROM customer_identities")
        found = {customer: (channel, address) for channel, address, customer in rows}
    assert found == {owners[k]: (k[0], v) for k, v in typed.items()}
