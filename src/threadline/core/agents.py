"""Agents: the humans who serve conversations, with their concurrency limits."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from threadline.core.errors import InvalidInput


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class AgentStatus(enum.StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


# Upper bound on concurrency: no human reads more than this many threads at once, and
# a typo such as P=200 would otherwise flood one person with the whole queue.
MAX_CONCURRENCY = 50


def validate_limits(preferred: int, max_load: int) -> None:
    if preferred < 1:
        raise InvalidInput(
            "preferred_concurrency must be at least 1", field="preferred_concurrency"
        )
    if max_load < preferred:
        raise InvalidInput("max_load must be at least preferred_concurrency", field="max_load")
    if max_load > MAX_CONCURRENCY:
        raise InvalidInput(f"max_load must be at most {MAX_CONCURRENCY}", field="max_load")


def validate_skill(skill: str) -> str:
    cleaned = skill.strip().lower()
    if not cleaned or len(cleaned) > 64 or not all(c.isalnum() or c in "-_." for c in cleaned):
        raise InvalidInput(
            "a skill is 1-64 characters of letters, digits, '-', '_' or '.'", field="skills"
        )
    return cleaned


@dataclass
class Agent:
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    skills: frozenset[str]
    preferred_concurrency: int
    max_load: int
    status: AgentStatus
    status_since: datetime
    active_count: int = 0
    last_assigned_at: datetime | None = None
    events: list[object] = field(default_factory=list, repr=False, compare=False)

    @property
    def idle_since(self) -> datetime:
        """When the agent last received work, or came online if later."""
        if self.last_assigned_at is None:
            return self.status_since
        return max(self.last_assigned_at, self.status_since)

    def can_take_new_work(self) -> bool:
        return self.status is AgentStatus.ONLINE and self.active_count < self.preferred_concurrency
