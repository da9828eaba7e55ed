"""Citizen data protection: personal fields stay in the owning service, encrypted per person (crypto-shredding).

Events and logs carry only a pseudonymous `PersonRef` ("p-" + HMAC of the ID number with the platform pepper),
the same in every department so referrals, conflicts and fee waivers can match a person without seeing who it
is. Name, ID number and phone are stored in the service's `persons` table, encrypted with a key of that
person's own (`person_keys`). Erasing a person (PIPL right to deletion) deletes the key: the history still
replays, and the personal fields read as erased, without rewriting any event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from datetime import datetime
from typing import Annotated, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from shared.db import Database

ERASED = "[erased]"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str) -> str | None:
    """Why an 18-digit resident ID number (GB 11643) is invalid, or None when it is valid."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return "must be 17 digits followed by a digit or X"
    try:
        datetime.strptime(value[6:14], "%Y%m%d")
    except ValueError:
        return "birth date digits (7-14) are not a valid date"
    expected = check_digit(value[:17])
    if expected != value[17]:
        return f"check digit should be {expected}"
    return None


def _valid_id_number(value: str) -> str:
    value = value.strip().upper()
    problem = id_number_problem(value)
    if problem:
        raise ValueError(f"invalid ID number: {problem}")
    return value


IdNumber = Annotated[str, AfterValidator(_valid_id_number)]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class PersonData(BaseModel):
    """What a citizen tells a department about themself (request bodies use this)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    id_number: IdNumber
    phone: Phone | None = None


def person_ref(id_number: str, pepper: str) -> str:
    digest = hmac.new(pepper.encode(), id_number.upper().encode(), hashlib.sha256).hexdigest()
    return f"p-{digest[:32]}"


class Vault(Protocol):
    """What services need from a person vault (PostgreSQL's `PersonVault`, or a test's in-memory one)."""

    async def register(self, person: PersonData) -> str: ...

    async def get(self, ref: str) -> dict[str, str]: ...

    async def erase(self, ref: str) -> bool: ...


class PersonVault:
    """One service's store of personal data, encrypted per person."""

    def __init__(self, db: Database, pepper: str) -> None:
        self._db = db
        self._pepper = pepper

    def ref_for(self, id_number: str) -> str:
        return person_ref(id_number, self._pepper)

    async def register(self, person: PersonData) -> str:
        """Keep the person's fields under their ref: a new person gets a key of their own; a person already on
        file with the same fields costs one read and writes nothing."""
        ref = self.ref_for(person.id_number)
        plain = person.model_dump_json().encode()
        digest = hmac.new(self._pepper.encode(), plain, hashlib.sha256).hexdigest()
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "WITH fresh AS (INSERT INTO person_keys (ref, key) VALUES (%s, %s) ON CONFLICT (ref) DO NOTHING"
                " RETURNING key) SELECT key FROM fresh UNION ALL"
                " SELECT k.key FROM person_keys k WHERE k.ref = %s AND NOT EXISTS (SELECT 1 FROM fresh)",
                (ref, AESGCM.generate_key(bit_length=256), ref),
            )
            row = await cur.fetchone()
            if row is None:  # another request inserted the key and had not committed when this one looked
                cur = await conn.execute("SELECT key FROM person_keys WHERE ref = %s", (ref,))
                row = await cur.fetchone()
            assert row is not None  # the key exists now: inserted here, or by the request that conflicted
            nonce = os.urandom(12)
            blob = nonce + AESGCM(bytes(row[0])).encrypt(nonce, plain, ref.encode())
            await conn.execute(
                "INSERT INTO persons (ref, blob, digest) VALUES (%s, %s, %s) ON CONFLICT (ref) DO UPDATE"
                " SET blob = EXCLUDED.blob, digest = EXCLUDED.digest, updated_at = now()"
                " WHERE persons.digest IS DISTINCT FROM EXCLUDED.digest",
                (ref, blob, digest),
            )
        return ref

    async def get(self, ref: str) -> dict[str, str]:
        """The person's fields, or every field reading `[erased]` after erasure (or for an unknown ref)."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT k.key, p.blob FROM person_keys k JOIN persons p ON p.ref = k.ref WHERE k.ref = %s", (ref,)
            )
            row = await cur.fetchone()
        if row is None:
            return {"name": ERASED, "id_number": ERASED, "phone": ERASED}
        key, raw = bytes(row[0]), bytes(row[1])
        data = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], ref.encode()))
        return {"name": data["name"], "id_number": data["id_number"], "phone": data.get("phone") or ""}

    async def erase(self, ref: str) -> bool:
        """Delete the person's key (and ciphertext): their data is unrecoverable, their events untouched."""
        async with self._db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("DELETE FROM person_keys WHERE ref = %s", (ref,))
            await conn.execute("DELETE FROM persons WHERE ref = %s", (ref,))
        return cur.rowcount == 1


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****"
