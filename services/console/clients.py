"""Server-side calls from the console to the platform's services (metrics and the four departments).

The console authenticates as `dept:console` with read scopes only; the token never leaves this process. A
service that cannot be reached (connection refused, timeout, 5xx, refused token) raises `Unavailable`, which
the pages render as "unavailable" for that part instead of failing the whole page.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from services.console.config import DEPARTMENTS, Settings
from shared.auth import issue_token

SCOPES = ["metrics:read", *(f"{d}:read" for d in DEPARTMENTS)]
TOKEN_REFRESH_SECONDS = 3600


class Unavailable(Exception):
    """A service did not answer usefully; `reason` is safe to show to an operator."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service, self.reason = service, reason


class Rejected(Exception):
    """A service answered 4xx (unknown case, invalid region …): the detail is shown to the operator."""

    def __init__(self, service: str, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(f"{service} answered {status}: {detail}")
        self.service, self.status, self.detail, self.field = service, status, detail, field


class Upstream:
    """One `httpx.AsyncClient` per service; `transports` lets tests route a service to an in-process app."""

    def __init__(self, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None) -> None:
        self.settings = settings
        transports = transports or {}
        self.clients = {
            name: httpx.AsyncClient(
                base_url=settings.url_of(name), transport=transports.get(name), timeout=settings.timeout
            )
            for name in ("metrics", *DEPARTMENTS)
        }
        self._token = ""
        self._issued = 0.0

    def _auth(self) -> dict[str, str]:
        # re-issued hourly so a long-running console never sends an expired token
        if not self._token or time.monotonic() - self._issued > TOKEN_REFRESH_SECONDS:
            self._token = issue_token(self.settings.platform, "dept:console", SCOPES)
            self._issued = time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}

    async def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            r = await self.clients[service].get(path, params=params, headers=self._auth())
        except httpx.HTTPError as exc:
            raise Unavailable(service, type(exc).__name__) from None
        if r.status_code >= 500 or r.status_code in (401, 403):
            raise Unavailable(service, f"HTTP {r.status_code}")
        if r.status_code >= 400:
            detail, field = r.text[:300], None
            try:
                body = r.json()
                detail = str(body.get("detail", detail))
                field = (body.get("errors") or [{}])[0].get("field")
            except (ValueError, AttributeError):
                pass
            raise Rejected(service, r.status_code, detail, field)
        try:
            return r.json()
        except ValueError:
            raise Unavailable(service, "answer is not JSON") from None

    async def stream(self, service: str, path: str) -> AsyncIterator[tuple[str, str]]:
        """Server-sent events of `path` as (event, data) pairs until the upstream closes."""
        try:
            async with self.clients[service].stream(
                "GET", path, headers={**self._auth(), "Accept": "text/event-stream"}, timeout=None
            ) as r:
                if r.status_code != 200:
                    raise Unavailable(service, f"HTTP {r.status_code}")
                event, data = "message", list[str]()
                async for line in r.aiter_lines():
                    if not line:
                        if data:
                            yield event, "\n".join(data)
                        event, data = "message", []
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                if data:
                    yield event, "\n".join(data)
        except httpx.HTTPError as exc:
            raise Unavailable(service, type(exc).__name__) from None

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def parse_json(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
