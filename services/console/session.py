"""Staff sign-in for the console: a bearer token holding `console:read`, sent as a header or kept in a cookie.

Operators sign in once at `/login` with a token issued to them (`caseflow token user:<name> -s console:read`);
the console checks it (signature, issuer, expiry, scope) and keeps it in an HttpOnly, SameSite=Strict cookie
that lives as long as the token. Every page and the live relay require it (`STAFF`, a router dependency that the
auth sweep reads like `shared.auth.require`). A browser asking for a page without a valid session is sent to
`/login` with the reason; any other client gets the platform's 401/403 problem+json.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.console.pages import login_page
from shared.auth import Principal, verify_token
from shared.errors import CaseflowError, Forbidden, Unauthorized
from shared.settings import PlatformSettings

COOKIE = "caseflow_console"
SCOPE = "console:read"
MAX_FORM_BYTES = 16_384  # a token is well under 1 kB
_bearer = HTTPBearer(auto_error=False)


class SignInRequired(Exception):
    """A browser page without a valid session: answered with a redirect to the sign-in page."""

    def __init__(self, reason: str | None, next_url: str) -> None:
        super().__init__(reason or "sign-in required")
        self.reason, self.next_url = reason, next_url


def wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def check(platform: PlatformSettings, token: str) -> Principal:
    """The principal of a valid token that holds the console's scope; Unauthorized/Forbidden otherwise."""
    principal = verify_token(platform, token)
    if SCOPE not in principal.scopes:
        raise Forbidden(f"requires scope {SCOPE}")
    return principal


async def staff(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    platform: PlatformSettings = request.app.state.platform_settings
    if creds is not None and creds.scheme.lower() == "bearer":
        return check(platform, creds.credentials)
    token = request.cookies.get(COOKIE)
    asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token and wants_page(request):
        raise SignInRequired(None, asked)  # nothing was tried yet: the sign-in page shows no error
    try:
        if not token:
            raise Unauthorized("missing bearer token or console session")
        return check(platform, token)
    except CaseflowError as exc:
        if wants_page(request):
            raise SignInRequired(exc.message, asked) from None
        raise


staff.__caseflow_scopes__ = (SCOPE,)  # type: ignore[attr-defined]
STAFF = Depends(staff)


def safe_next(value: str | None) -> str:
    """Only a path on this console: never an absolute or scheme-relative URL (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/scorecard"
    return value


def sign_in_redirect(exc: SignInRequired) -> RedirectResponse:
    reason = f"&reason={quote(exc.reason)}" if exc.reason else ""  # only why a session presented was refused
    return RedirectResponse(f"/login?next={quote(exc.next_url)}{reason}", status_code=303)


router = APIRouter(tags=["console"])


@router.get("/login", response_class=HTMLResponse, summary="Staff sign-in page")
async def login_form(next: str | None = None, reason: str | None = None) -> HTMLResponse:
    return HTMLResponse(login_page(safe_next(next), reason))


@router.post("/login", response_class=HTMLResponse, summary="Sign in with a console:read token (form)")
async def login(request: Request) -> Response:
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return HTMLResponse(login_page("/scorecard", "form too large"), status_code=413)
    form = parse_qs(raw.decode("utf-8", errors="replace"))
    next_url = safe_next((form.get("next") or [""])[0] or None)
    token = ((form.get("token") or [""])[0]).strip()
    platform: PlatformSettings = request.app.state.platform_settings
    try:
        if not token:
            raise Unauthorized("no token given")
        principal = check(platform, token)
    except CaseflowError as exc:
        return HTMLResponse(login_page(next_url, exc.message), status_code=exc.http_status)
    response = RedirectResponse(next_url, status_code=303)
    expires = principal.expires or datetime.now(UTC) + timedelta(hours=12)
    lifetime = int((expires - datetime.now(UTC)).total_seconds())
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(lifetime, 1),
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/logout", summary="Sign out (forget the session cookie)")
async def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
