"""The inbox on the real FerretDB: ids are claimed by insert, and only ids met before are looked up."""

import pytest

from shared.consumer import Inbox

pytestmark = pytest.mark.integration


async def test_new_ids_are_claimed_not_seen_and_recorded_ids_are_seen(mongo_db):
    inbox = Inbox(mongo_db, "g")
    assert await inbox.seen(["e1", "e2", "e2"]) == set()  # a repeat inside one batch is one claim
    claims = [d["_id"] async for d in mongo_db["inbox_claims"].find({})]
    assert sorted(claims) == ["g:e1", "g:e2"]
    await inbox.record(["e1"])
    # e1 done; e2 claimed but never recorded (a crash cut its handling short): it must come back to be handled
    assert await inbox.seen(["e1", "e2", "e3"]) == {"e1"}
    assert await mongo_db["inbox"].count_documents({}) == 1


async def test_groups_do_not_see_each_others_ids(mongo_db):
    first, second = Inbox(mongo_db, "a"), Inbox(mongo_db, "b")
    await first.seen(["e1"])
    await first.record(["e1"])
    assert await second.seen(["e1"]) == set()
    assert await first.seen(["e1"]) == {"e1"}
