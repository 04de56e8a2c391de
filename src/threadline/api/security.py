"""Bearer-token authentication: agents' session tokens and inboxes' API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from threadline.api.context import AppContext, get_ctx
from threadline.core.access import Principal
from threadline.core.inboxes import Inbox
from threadline.service import auth

_agent_bearer = HTTPBearer(
    auto_error=False, scheme_name="AgentToken", description="From POST /api/v1/auth/login"
)
_inbox_bearer = HTTPBearer(
    auto_error=False, scheme_name="InboxToken", description="An inbox's API token"
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "a bearer token is required", headers=_CHALLENGE)
    if len(credentials.credentials) > 200:
        raise HTTPException(401, "invalid or expired token", headers=_CHALLENGE)
    return credentials.credentials


async def current_principal(
    ctx: Annotated[AppContext, Depends(get_ctx)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_agent_bearer)],
) -> Principal:
    token = _token(credentials)
    principal = await ctx.tx.read(lambda uow: auth.principal_for(uow, token, ctx.now()))
    if principal is None:
        raise HTTPException(401, "invalid or expired token", headers=_CHALLENGE)
    return principal


async def current_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_agent_bearer)],
) -> str:
    return _token(credentials)


async def current_inbox(
    ctx: Annotated[AppContext, Depends(get_ctx)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_inbox_bearer)],
) -> Inbox:
    token = _token(credentials)
    inbox = await ctx.tx.read(lambda uow: auth.inbox_for(uow, token))
    if inbox is None:
        raise HTTPException(401, "invalid inbox token", headers=_CHALLENGE)
    return inbox


async def inbox_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_inbox_bearer)],
) -> str:
    """The inbox token, for use cases that verify it inside their own transaction."""
    return _token(credentials)


Ctx = Annotated[AppContext, Depends(get_ctx)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentInbox = Annotated[Inbox, Depends(current_inbox)]
InboxToken = Annotated[str, Depends(inbox_token)]
