"""Typed settings, read once from the environment (prefix THREADLINE_), with dev defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./threadline.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Large enough for any chat message with metadata; small enough that a flood of huge
    # bodies cannot exhaust memory before validation runs.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Providers batch events: Meta's webhooks can carry up to 1,000 of them in 3 MB.
    webhook_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # A notification batch's upload: 100,000 CSV rows of a few variables each.
    notification_batch_max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    token_ttl_hours: float = Field(default=12.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # How often the live stream looks at the event log when nothing in this process
    # has told it of a commit: the worst-case delay for events written by another process.
    stream_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # A safety net: routing also runs on every change that can free or need a slot; this
    # periodic pass catches work left waiting after a lost race between two processes.
    routing_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    # How often due timers (inactivity, auto-close, respond-by breaches) are looked for:
    # the worst-case lateness of a timer. Every timer is minutes long, so a second late
    # is invisible; a tick costs one indexed query.
    timer_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # How often an open WebSocket's token is checked again: a logged-out or expired
    # token stops receiving within this long; each check is one indexed read.
    stream_recheck_seconds: float = Field(default=30.0, gt=0, le=3600)
    # An online agent whose desks have all been disconnected this long is set away (no
    # new work; they keep theirs). Four re-checks long, so a connected desk, seen at
    # every re-check, is never mistaken for a closed one; long enough for a reload or a
    # short network drop.
    desk_away_after_seconds: float = Field(default=120.0, gt=0, le=365 * 86400)
    # argon2id cost. The defaults are argon2-cffi's RFC 9106 "low memory" profile
    # (3 passes, 64 MiB); lower them only where hashing speed matters more than
    # resistance to offline guessing, e.g. the test suite.
    password_time_cost: int = Field(default=3, ge=1, le=20)
    password_memory_kib: int = Field(default=65536, ge=1024, le=4 * 1024 * 1024)
    # Where providers reach this service from the internet (https://chat.example.com):
    # status callbacks are addressed to it, and Twilio signs the URL it called, which
    # behind a proxy is not the one this process sees. None: the request's own URL.
    public_url: str | None = None
    # Provider APIs; tests and the demo point them at the fake provider on loopback.
    twilio_api_base: str = "https://api.twilio.com"
    meta_graph_base: str = "https://graph.facebook.com"
    meta_graph_version: str = "v24.0"
    rbm_api_base: str = "https://rcsbusinessmessaging.googleapis.com"
    rbm_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    apple_gateway_base: str = "https://mspgw.push.apple.com"
    # How often the outbox is looked at for due messages when nothing in this process
    # has just queued one: the worst-case delay of a retry, not of a fresh reply (a
    # commit wakes the worker at once).
    outbox_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # A claimed message's lease: longer than a send can take (twice the provider
    # timeout below: a token fetch and the send; every send is cut off there), so no
    # live worker's send is ever taken over.
    outbox_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # How long a provider may take to answer one send: providers answer in well under a
    # second; past this the outcome is unknown (core.outbox).
    provider_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Sends in flight at once per process: enough to keep a provider busy, few enough to
    # stay inside every provider's per-number rate limit.
    outbox_concurrency: int = Field(default=16, ge=1, le=256)
    outbox_max_attempts: int = Field(default=12, ge=1, le=100)
    outbox_backoff_base_seconds: float = Field(default=2.0, gt=0, le=3600)
    outbox_backoff_cap_seconds: float = Field(default=300.0, gt=0, le=86400)
    # How often the bot worker looks for customer messages its bots have not answered
    # when nothing in this process has just stored one (a commit wakes it at once):
    # the worst-case delay of a bot's answer to a message another process stored.
    bot_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # How often due notifications are looked for when nothing wakes the worker: a
    # deferral's end is found within this.
    notification_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # A bot's turn in one conversation is leased this long: a worker that dies mid-turn
    # has its turn taken over after it. Longer than a turn can take: a turn reads no more
    # messages after a third of this and starts no call after half of it, and each call
    # is cut off at its timeout (30 s at most), hence at least a minute.
    bot_lease_seconds: float = Field(default=120.0, ge=60, le=3600)
    # THREADLINE_SECRET_<NAME>_<PART>, collected from the environment (see
    # docs/channels/): provider tokens and app secrets, which never enter the database.
    channel_secrets: dict[str, str] = Field(default_factory=dict)
    log_level: str = "info"

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        # A lease shorter than a send would let a second worker take over a send in
        # flight: the one way the outbox could send a message twice.
        if self.outbox_lease_seconds <= 2 * self.provider_timeout_seconds + 5:
            raise ValueError(
                "outbox_lease_seconds must exceed twice provider_timeout_seconds plus 5"
            )
        return self

    # Extra or replacement lexicons for the message classifier (*.toml, one language
    # each; see src/threadline/lexicons/). None: the shipped English and Spanish.
    lexicons_dir: Path | None = None


SECRET_PREFIX = "THREADLINE_SECRET_"  # noqa: S105 (a name)


def secrets_from(environ: Mapping[str, str]) -> dict[str, str]:
    return {k[len(SECRET_PREFIX) :]: v for k, v in environ.items() if k.startswith(SECRET_PREFIX)}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(channel_secrets=secrets_from(os.environ))
