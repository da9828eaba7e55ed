"""Bearer tokens (JWT via PyJWT) carrying a department identity and scopes; every route declares its scope.

Principals are `dept:<department>` for the platform's own services and staff, and `partner:<name>` for external
organs (`shared.topics.PARTNERS`: court, police, procuratorate, petition_office, hotline_12345, dispatch_110). A
partner token only ever sees traffic addressed to that partner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.settings import PlatformSettings

ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    subject: str  # e.g. "dept:intake", "partner:court"
    scopes: frozenset[str]
    expires: datetime | None = None  # the token's expiry (a console session lives as long)

    @property
    def partner(self) -> str | None:
        kind, _, name = self.subject.partition(":")
        return name if kind == "partner" else None

    @property
    def actor(self) -> str:
        return self.subject


def issue_token(
    settings: PlatformSettings, subject: str, scopes: list[str], *, ttl: timedelta = timedelta(hours=12)
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "scope": " ".join(sorted(set(scopes))),
        "iss": settings.auth_issuer,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.auth_secret.get_secret_value(), algorithm=ALGORITHM)


def verify_token(settings: PlatformSettings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=settings.auth_issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return Principal(str(claims["sub"]), frozenset(str(claims.get("scope", "")).split()), expires)


def require(*scopes: str):  # type: ignore[no-untyped-def]
    """FastAPI dependency: a valid bearer token holding at least one of `scopes`."""

    async def dependency(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        if creds is None or creds.scheme.lower() != "bearer":
            raise Unauthorized("missing bearer token")
        settings: PlatformSettings = request.app.state.platform_settings
        principal = verify_token(settings, creds.credentials)
        if scopes and not principal.scopes.intersection(scopes):
            raise Forbidden(f"requires scope {' or '.join(scopes)}")
        return principal

    dependency.__caseflow_scopes__ = scopes  # type: ignore[attr-defined]
    return Depends(dependency)
