"""The departments' public HTTP APIs as the demo's staff and citizens call them: one client per department with
a token holding the scopes its routes require (shared.auth.issue_token), idempotency keys on every write."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import AnyHttpUrl
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth import issue_token
from shared.settings import PlatformSettings

#: department → (principal, scopes its routes require: services/<dept>/deps.py)
PRINCIPALS: dict[str, tuple[str, list[str]]] = {
    "intake": ("dept:intake", ["intake:read", "intake:write", "intake:admin"]),
    "legal_aid": ("dept:legal_aid", ["legal_aid:read", "legal_aid:review", "legal_aid:write", "legal_aid:apply"]),
    "mediation": ("dept:mediation", ["mediation:read", "mediation:write"]),
    "notary": ("dept:notary", ["notary:read", "notary:write"]),
    "court": ("partner:court", ["partner:court"]),  # the court's feedback on notarial documents it was shown
}


class DemoSettings(BaseSettings):
    """Where the departments listen (env prefix `DEMO_`; `make run`'s ports by default)."""

    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    intake_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8101")
    legal_aid_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8102")
    mediation_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8103")
    notary_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8104")

    def urls(self) -> dict[str, str]:
        """Department → base URL; the court's feedback on notarial documents goes to the notary's `/feedback`."""
        urls = {d: str(getattr(self, f"{d}_url")).rstrip("/") for d in ("intake", "legal_aid", "mediation", "notary")}
        return urls | {"court": urls["notary"]}


class Refused(Exception):
    """A department answered 4xx: the act is not possible now (the body says why)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


@dataclass
class Platform:
    """HTTP clients for every department the demo plays against."""

    settings: PlatformSettings
    urls: dict[str, str] = field(default_factory=lambda: DemoSettings().urls())
    timeout: float = 10.0
    _clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, dept: str) -> httpx.AsyncClient:
        if dept not in self._clients:
            subject, scopes = PRINCIPALS[dept]
            token = issue_token(self.settings, subject, scopes)
            self._clients[dept] = httpx.AsyncClient(
                base_url=self.urls[dept], timeout=self.timeout, headers={"Authorization": f"Bearer {token}"}
            )
        return self._clients[dept]

    async def post(self, dept: str, path: str, body: dict[str, Any] | None, key: str) -> dict[str, Any]:
        """One write, with `key` as its Idempotency-Key: a retry, or the same act after a restart, replays."""
        r = await self.client(dept).post(path, json=body, headers={"Idempotency-Key": key})
        return _answer(r)

    async def get(self, dept: str, path: str, **params: Any) -> Any:
        r = await self.client(dept).get(path, params={k: v for k, v in params.items() if v is not None})
        return _answer(r)

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every department answers its readiness probe (the demo may start before them)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for dept in ("intake", "legal_aid", "mediation", "notary"):
            while True:
                try:
                    if (await self.client(dept).get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if loop.time() > deadline:
                    raise TimeoutError(f"{dept} at {self.urls[dept]} not ready after {timeout:.0f} s")
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        for c in self._clients.values():
            await c.aclose()


def _answer(r: httpx.Response) -> Any:
    if 400 <= r.status_code < 500:
        raise Refused(r.status_code, r.text)
    r.raise_for_status()
    return r.json()
