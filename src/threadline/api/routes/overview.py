"""The supervisor's overview: every queue, every agent, the customers waiting too long."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from threadline.api.schemas import AgentOut, ConversationOut
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import overview

router = APIRouter(tags=["overview"])


class QueueOut(BaseModel):
    queue: str
    waiting: int
    returning: int = Field(description="Reactivated conversations among them (served first).")
    oldest_respond_by: datetime | None = Field(
        description="The earliest respond-by among them: how soon this queue breaches."
    )


class OverviewOut(BaseModel):
    at: datetime = Field(description="The server's time of this snapshot.")
    queues: list[QueueOut]
    agents: list[AgentOut]
    breaching: list[ConversationOut] = Field(
        description="Waiting on an agent past respond-by, longest late first (at most 100)."
    )


@router.get("/overview", response_model=OverviewOut)
async def get_overview(ctx: Ctx, principal: CurrentPrincipal) -> OverviewOut:
    """Supervisors and admins: the floor now."""
    now = ctx.now()
    seen = await ctx.tx.read(lambda uow: overview.overview(uow, principal, now))
    return OverviewOut(
        at=seen.at,
        queues=[QueueOut.model_validate(q, from_attributes=True) for q in seen.queues],
        agents=[AgentOut.of(a) for a in seen.agents],
        breaching=[ConversationOut.of(c) for c in seen.breaching],
    )
