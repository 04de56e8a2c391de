"""Who may see and do what (DESIGN.md §7). Pure rules over plain data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from threadline.core.agents import Role
from threadline.core.conversations import Conversation, ConversationState
from threadline.core.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    agent_id: uuid.UUID
    role: Role
    skills: frozenset[str]

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


def can_view(principal: Principal, conv: Conversation) -> bool:
    """An agent sees what is assigned to them, what they own (inactive, or closed: their
    own history), and the conversations waiting in their skills' queues; supervisors and
    admins see all."""
    if principal.sees_everything:
        return True
    if principal.agent_id == conv.assigned_agent_id:
        return True
    if principal.agent_id == conv.owner_agent_id and conv.state in (
        ConversationState.INACTIVE,
        ConversationState.CLOSED,
    ):
        return True
    return conv.state is ConversationState.QUEUED and conv.skill in principal.skills


def require_manage(principal: Principal, conv: Conversation) -> None:
    """Closing, transferring, marking inactive: the assigned agent (the owner, for an
    inactive conversation), or a supervisor/admin."""
    if principal.sees_everything:
        return
    if conv.state is ConversationState.INACTIVE and conv.owner_agent_id == principal.agent_id:
        return
    if conv.assigned_agent_id != principal.agent_id:
        raise Forbidden("only the assigned agent or a supervisor can do this")


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(str(r) for r in roles)} role")


def event_visible(principal: Principal, agent_id: uuid.UUID | None, queue: str | None) -> bool:
    """The live stream's filter, on the audience every event names."""
    if principal.sees_everything:
        return True
    if agent_id is not None and agent_id == principal.agent_id:
        return True
    return queue is not None and queue in principal.skills
