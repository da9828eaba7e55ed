"""The inbox on the real PostgreSQL: what a group recorded it sees, nothing else."""

import pytest

from shared.consumer import Inbox

pytestmark = pytest.mark.integration


async def test_recorded_ids_are_seen_and_others_are_not(db):
    inbox = Inbox(db, "g")
    assert await inbox.seen(["e1", "e2", "e2"]) == set()
    await inbox.record(["e1", "e1"])
    await inbox.record(["e1"])  # recorded again by a redelivered batch: no error
    assert await inbox.seen(["e1", "e2", "e3"]) == {"e1"}


async def test_groups_do_not_see_each_others_ids(db):
    first, second = Inbox(db, "a"), Inbox(db, "b")
    await first.record(["e1"])
    assert await second.seen(["e1"]) == set()
    assert await first.seen(["e1"]) == {"e1"}
