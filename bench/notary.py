"""Notary: the `POST /applications` command (a birth certificate notarisation with its materials) over HTTP
through the real service, against a validate-only endpoint (bench.http_command).

Standalone: `python -c 'import bench.notary as b; b.main()'` (make bench calls `run`).
"""

from __future__ import annotations

import asyncio

from bench import http_command
from bench.common import Report, bench_platform
from services.notary.config import Settings
from services.notary.main import create_app
from services.notary.schemas import ApplicationBody as ApplicationIn
from shared.settings import PlatformSettings

APPLICATION = {
    "region": "431002001001",
    "office": "GZ4310",
    "matter": "birth",
    "applicant_ref": "p-" + "a1" * 16,
    "materials_supplied": ["id_card", "household_register", "birth_medical_certificate"],
}


async def run(settings: PlatformSettings, report: Report) -> None:
    await http_command.measure_post(
        report, settings, service="notary", scope="notary:write", path="/applications", model=ApplicationIn,
        body=lambda _i: APPLICATION, app=lambda own: create_app(Settings(platform=own)),
    )  # fmt: skip


def main() -> None:
    asyncio.run(run(bench_platform(), Report()))


if __name__ == "__main__":
    main()
