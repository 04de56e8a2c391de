"""Google's OAuth 2.0 token endpoint, for the JWT-bearer grant a service account makes
(RFC 7523): the RBM API only takes the access tokens issued here.

Issued tokens are credentials: `reset` keeps them, as a client would keep its token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.fakeprovider.core import FakeCore, random_token

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
RBM_SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging"
TOKEN_LIFETIME = timedelta(hours=1)
# Google accepts an assertion addressed to its token URI; a client pointed at the fake
# may address it to the fake's own URL instead.
GOOGLE_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
)
PATHS = ("/oauth2/token", "/token")
# Two clocks never agree exactly.
LEEWAY = timedelta(minutes=1)
_NOT_SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


@dataclass(frozen=True)
class Issued:
    client_email: str
    scopes: frozenset[str]
    expires: datetime


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class GoogleTokens:
    def __init__(self, core: FakeCore) -> None:
        self.core = core
        self.issued: dict[str, Issued] = {}

    def routes(self) -> list[BaseRoute]:
        return [Route(path, self.token, methods=["POST"]) for path in PATHS]

    def allows(self, token: str, scope: str) -> bool:
        issued = self.issued.get(token)
        return issued is not None and scope in issued.scopes and issued.expires > self.core.now()

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        grant = form.get("grant_type", "")
        if grant != JWT_BEARER:
            return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}")
        assertion = form.get("assertion")
        if not assertion:
            return _oauth_error("invalid_request", "Missing required parameter: assertion")
        claims = self._verified(assertion, str(request.url).split("?")[0])
        if isinstance(claims, Response):
            return claims
        now = self.core.now()
        iat = datetime.fromtimestamp(claims["iat"], now.tzinfo)
        exp = datetime.fromtimestamp(claims["exp"], now.tzinfo)
        if exp < now - LEEWAY or iat > now + LEEWAY or exp - iat > TOKEN_LIFETIME:
            return _oauth_error("invalid_grant", _NOT_SHORT_LIVED)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return _oauth_error(
                "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        token = "ya29.fake-" + random_token(64)
        self.issued[token] = Issued(claims["iss"], scopes, now + TOKEN_LIFETIME)
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "token_type": "Bearer",
            }
        )

    def _verified(self, assertion: str, own_url: str) -> dict[str, Any] | Response:
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "Invalid JWT: could not be parsed.")
        email = unverified.get("iss")
        key = self.core.accounts.rbm_service_accounts.get(email) if isinstance(email, str) else None
        if key is None:
            return _oauth_error("invalid_grant", "Invalid grant: account not found")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],  # never the algorithm the token names
                audience=[own_url, *GOOGLE_AUDIENCES],
                # Expiry is checked against the fake's clock, which tests may move.
                options={
                    "require": ["iss", "aud", "iat", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "Invalid JWT: Failed audience check.")
        except (jwt.PyJWTError, ValueError):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if not isinstance(claims["iat"], int | float) or not isinstance(claims["exp"], int | float):
            return _oauth_error("invalid_grant", _NOT_SHORT_LIVED)
        return claims
