"""Intake: the `POST /requests` command (a walk-in request with the citizen's personal data, sealed in the vault)
over HTTP through the real service, against a validate-only endpoint (bench.http_command).

Standalone: `python -m bench.intake` (make bench calls `run`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench import http_command
from bench.common import Report, bench_platform
from services.intake.config import Settings
from services.intake.main import create_app
from services.intake.schemas import ReceiveBody
from shared.settings import PlatformSettings

BODY: dict[str, Any] = {
    "channel": "walk_in",
    "level": "county",
    "region": "431002000000",
    "kind": "help",
    "topic": "labour",
    "person": {"name": "张三", "id_number": "431002198506121230", "phone": "13800138000"},
}


def body(i: int) -> dict[str, Any]:
    return {**BODY, "person": {**BODY["person"], "id_number": http_command.citizen(i)}}


async def run(settings: PlatformSettings, report: Report) -> None:
    await http_command.measure_post(
        report, settings, service="intake", scope="intake:write", path="/requests",
        model=ReceiveBody,  # the baseline validates the same body, PersonData check digit included
        body=body, app=lambda own: create_app(Settings(platform=own)),
    )  # fmt: skip


def main() -> None:
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
