"""The fee-waiver registry: waivers legal aid grants its recipients (flow 7), looked up at fee assessment.

`Waivers` is what the use cases and consumers need; `PostgresWaivers` keeps them in this service's
`fee_waivers` table (sql/0001_fee_waivers.sql; the share exact since sql/0002_fee_waiver_share_exact.sql), one
row per (person, matter, aid case).
"""

from __future__ import annotations

from typing import Protocol

from services.notary.domain import WaiverGrant
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.db import Database


class Waivers(Protocol):
    async def record(self, waiver: NotaryFeeWaiverGranted, event_id: str) -> None:
        """Keep a waiver; the same (person, matter, aid case) again replaces the earlier one."""

    async def find(self, person_ref: str, matter: str, aid_case_id: str | None = None) -> WaiverGrant | None:
        """The most generous waiver covering this person and matter (for `aid_case_id` only, when given)."""

    async def vouches(self, person_ref: str, aid_case_id: str) -> bool:
        """Whether legal aid granted this person a waiver (any matter) on that aid case: its word that the case
        exists, aid was granted and the person is its recipient."""


class PostgresWaivers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, waiver: NotaryFeeWaiverGranted, event_id: str) -> None:
        w = waiver
        async with self.db.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO fee_waivers (person_ref, notary_matter, aid_case_id, waiver, granted_at, event_id)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (person_ref, notary_matter, aid_case_id) DO UPDATE"
                " SET waiver = EXCLUDED.waiver, granted_at = EXCLUDED.granted_at, event_id = EXCLUDED.event_id",
                (w.person_ref, w.notary_matter, w.aid_case_id, w.waiver, w.granted_at, event_id),
            )

    async def find(self, person_ref: str, matter: str, aid_case_id: str | None = None) -> WaiverGrant | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT aid_case_id, waiver FROM fee_waivers WHERE person_ref = %s AND notary_matter = %s"
                " AND (%s::text IS NULL OR aid_case_id = %s) ORDER BY waiver DESC LIMIT 1",
                (person_ref, matter, aid_case_id, aid_case_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return WaiverGrant(aid_case_id=row[0], person_ref=person_ref, notary_matter=matter, waiver=row[1])

    async def vouches(self, person_ref: str, aid_case_id: str) -> bool:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT 1 FROM fee_waivers WHERE person_ref = %s AND aid_case_id = %s LIMIT 1",
                (person_ref, aid_case_id),
            )
            return await cur.fetchone() is not None
