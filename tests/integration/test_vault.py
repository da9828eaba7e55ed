"""The person vault on the real PostgreSQL: one key per person, no write when nothing changed, erasure."""

import asyncio

import pytest

from shared.pii import ERASED, PersonData, PersonVault

pytestmark = pytest.mark.integration
ZHANG = PersonData(name="张三", id_number="11010519491231002X", phone="13800138000")


async def written_at(db, ref: str):
    async with db.pool.connection() as conn:
        row = await (await conn.execute("SELECT updated_at, blob FROM persons WHERE ref = %s", (ref,))).fetchone()
    return row


async def test_registering_the_same_person_again_writes_nothing_and_a_change_is_kept(db):
    vault = PersonVault(db, "test-pepper")
    ref = await vault.register(ZHANG)
    first = await written_at(db, ref)
    assert await vault.register(ZHANG) == ref
    assert await written_at(db, ref) == first  # same fields: neither the time nor the ciphertext moved
    moved = ZHANG.model_copy(update={"phone": "13900139000"})
    assert await vault.register(moved) == ref
    assert (await vault.get(ref))["phone"] == "13900139000"


async def test_concurrent_first_registrations_share_one_key(db):
    vault = PersonVault(db, "test-pepper")
    refs = await asyncio.gather(*(vault.register(ZHANG) for _ in range(10)))
    assert len(set(refs)) == 1
    async with db.pool.connection() as conn:
        keys = await (await conn.execute("SELECT count(*) FROM person_keys")).fetchone()
    assert keys == (1,)
    assert (await vault.get(refs[0]))["name"] == "张三"


async def test_erasure_deletes_the_key_and_the_person_reads_as_erased(db):
    vault = PersonVault(db, "test-pepper")
    ref = await vault.register(ZHANG)
    assert await vault.erase(ref)
    assert await vault.get(ref) == {"name": ERASED, "id_number": ERASED, "phone": ERASED}
    assert not await vault.erase(ref)
