"""Agents: admins manage them; each agent (or a supervisor) sets their status."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from threadline.api.schemas import AgentCreate, AgentOut, AgentPatch, StatusIn
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import agents

router = APIRouter(tags=["agents"])


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(ctx: Ctx, principal: CurrentPrincipal) -> list[AgentOut]:
    found = await ctx.tx.read(lambda uow: agents.list_agents(uow, principal))
    return [AgentOut.of(a) for a in found]


class ColleagueOut(BaseModel):
    id: uuid.UUID
    display_name: str
    skills: list[str]
    active_count: int
    max_load: int = Field(description="A transfer to them is refused at this load.")


@router.get("/agents/colleagues", response_model=list[ColleagueOut])
async def list_colleagues(ctx: Ctx, principal: CurrentPrincipal) -> list[ColleagueOut]:
    """Any agent: the agents online now, to transfer a conversation to one of them."""
    found = await ctx.tx.read(lambda uow: agents.colleagues(uow, principal))
    return [
        ColleagueOut(
            id=a.id,
            display_name=a.display_name,
            skills=sorted(a.skills),
            active_count=a.active_count,
            max_load=a.max_load,
        )
        for a in found
    ]


@router.post("/agents", response_model=AgentOut, status_code=201)
async def create_agent(body: AgentCreate, ctx: Ctx, principal: CurrentPrincipal) -> AgentOut:
    new = agents.NewAgent(
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        role=body.role,
        skills=frozenset(body.skills),
        preferred_concurrency=body.preferred_concurrency,
        max_load=body.max_load,
    )
    return AgentOut.of(await agents.create_agent(ctx.tx, principal, new, ctx.now()))


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> AgentOut:
    return AgentOut.of(await ctx.tx.read(lambda uow: agents.get_agent(uow, principal, agent_id)))


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: uuid.UUID, body: AgentPatch, ctx: Ctx, principal: CurrentPrincipal
) -> AgentOut:
    changes = agents.AgentChanges(
        display_name=body.display_name,
        role=body.role,
        skills=frozenset(body.skills) if body.skills is not None else None,
        preferred_concurrency=body.preferred_concurrency,
        max_load=body.max_load,
    )
    updated = await ctx.tx.write(
        lambda uow: agents.update_agent(uow, principal, agent_id, changes, ctx.now())
    )
    return AgentOut.of(updated)


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
async def set_status(
    agent_id: uuid.UUID, body: StatusIn, ctx: Ctx, principal: CurrentPrincipal
) -> AgentOut:
    updated = await ctx.tx.write(
        lambda uow: agents.set_status(uow, principal, agent_id, body.status, ctx.now())
    )
    return AgentOut.of(updated)
