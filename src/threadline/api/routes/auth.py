"""Login, logout and who-am-I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response

from threadline.api.schemas import AgentOut, LoginIn, LoginOut
from threadline.api.security import Ctx, CurrentPrincipal, current_token
from threadline.service import agents, auth

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, ctx: Ctx) -> LoginOut:
    session = await auth.login(
        ctx.tx,
        body.username,
        body.password,
        ctx.now(),
        timedelta(hours=ctx.settings.token_ttl_hours),
    )
    if session is None:
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    return LoginOut(
        token=session.token, expires_at=session.expires_at, agent=AgentOut.of(session.agent)
    )


@router.post("/auth/logout", status_code=204, response_class=Response)
async def logout(
    ctx: Ctx, principal: CurrentPrincipal, token: Annotated[str, Depends(current_token)]
) -> Response:
    await ctx.tx.write(lambda uow: auth.logout(uow, token, ctx.now()))
    return Response(status_code=204)


@router.get("/me", response_model=AgentOut)
async def me(ctx: Ctx, principal: CurrentPrincipal) -> AgentOut:
    agent = await ctx.tx.read(lambda uow: agents.get_agent(uow, principal, principal.agent_id))
    return AgentOut.of(agent)
