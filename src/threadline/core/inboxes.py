"""Inboxes: where customer messages come in (a channel, a default queue)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Inbox:
    id: uuid.UUID
    name: str
    channel: str
    skill: str
    created_at: datetime
