"""Web platform quality control (网络平台质检): the monthly ≥3% quota draw and the inspection result.

Source: seed 000 indicator 36 ("对留言咨询问题的答复及时审核发布，对已解答问题抽取3%进行质检"): at least 3% of the
answered web questions of each period are drawn for inspection.
"""

import math
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.intake import domain
from services.intake.config import Settings
from services.intake.domain import CountWebReply, InspectWebReply, PublishWebReply, QcDraw, ReceiveRequest, decider
from services.intake.main import create_app
from shared.contracts.intake import Channel, RequestKind
from shared.contracts.intake_review import QcResult, WebReplyCounted, WebReplyDrawnForQc, WebReplyInspected
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.fakes import memory_adapters

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CITY = "431000000000"
COUNTY = "431002000000"


def test_the_quota_is_three_percent_rounded_up():
    """Seed 000: 3% of answered questions, so any reply at all means at least one inspection."""
    assert [domain.qc_quota(n) for n in (0, 1, 33, 34, 100, 101, 1000)] == [0, 1, 1, 2, 3, 4, 30]


def _count_month(request_ids: list[str], region: str = CITY) -> tuple[domain.QcMonth, list[WebReplyCounted]]:
    commands = [
        CountWebReply(region=region, request_id=r, at=T0 + timedelta(minutes=i)) for i, r in enumerate(request_ids)
    ]
    state, events = decider.run(commands)
    assert isinstance(state, domain.QcMonth)
    return state, [e for e in events if isinstance(e, WebReplyCounted)]


def test_every_random_month_draws_at_least_three_percent_in_every_region_and_overall():
    """Seed 000: ≥3% each month — a quota, never a share that falls short by chance (the former hash draw fell
    short in about 45% of monthly samples). 500 random months, each region checked after every reply."""
    rng = random.Random(20261204)
    for _ in range(500):
        sizes = {CITY: rng.randint(0, 400), COUNTY: rng.randint(0, 60), "431002001000": rng.randint(0, 5)}
        total_published = total_drawn = 0
        for region, size in sizes.items():
            ids = [f"rq-{rng.getrandbits(128):032x}" for _ in range(size)]
            state: domain.IntakeState = domain.initial_state()
            for n, rid in enumerate(ids, start=1):
                state, _ = decider.run([CountWebReply(region=region, request_id=rid, at=T0)], state)
                assert isinstance(state, domain.QcMonth)
                assert len(state.draws) >= math.ceil(0.03 * n)  # never short, after any reply
                assert len(state.draws) <= domain.qc_quota(n)  # and no more than the quota
            total_published += size
            total_drawn += len(state.draws) if size else 0
        assert total_drawn * 100 >= 3 * total_published


def test_the_draw_is_deterministic_the_first_reply_and_then_every_time_the_quota_rises():
    """Seed 000: who is drawn depends on the order of publication alone, so anyone can recompute it."""
    ids = [f"rq-{i:032x}" for i in range(101)]
    state, events = _count_month(ids)
    drawn = [e.ordinal for e in events if e.drawn]
    assert drawn == [1, 34, 67, 101] and state.published == 101
    again, _ = _count_month(ids)
    assert again == state


def test_a_drawn_reply_counted_again_changes_nothing():
    """Seed 000: a redelivered count never adds a second draw (the handler's key replays the rest)."""
    state, _ = _count_month(["rq-a", "rq-b"])
    assert decider.decide(CountWebReply(region=CITY, request_id="rq-a", at=T0), state) == []


def test_a_counter_counts_only_its_region_and_china_month():
    """Seed 000: the quota holds per month (China calendar) and per region."""
    state, _ = _count_month(["rq-a"])
    with pytest.raises(ValidationFailed):
        decider.decide(CountWebReply(region=COUNTY, request_id="rq-b", at=T0), state)
    next_month = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 1 April 00:00 in China
    assert domain.china_month(next_month) == "2026-04"
    with pytest.raises(ValidationFailed):
        decider.decide(CountWebReply(region=CITY, request_id="rq-b", at=next_month), state)
    assert domain.qc_stream(CITY, next_month) == f"qc-{CITY}-2026-04"


def _web(rid: str = "rq-w") -> ReceiveRequest:
    return ReceiveRequest(request_id=rid, channel=Channel.WEB_12348, region=CITY, kind=RequestKind.CONSULTATION,
                          topic="labour", at=T0)  # fmt: skip


def test_a_reply_the_counter_drew_is_published_with_its_draw():
    """Seed 000: the drawn reply carries the draw, with its ordinal in the month and the number drawn."""
    draw = QcDraw(request_id="rq-w", ordinal=34, drawn=2)
    state, events = decider.run([_web(), PublishWebReply(qc_draw=draw, at=T0 + timedelta(minutes=5))])
    assert events[2] == WebReplyDrawnForQc(rule=domain.QC_RULE, drawn_at=T0 + timedelta(minutes=5), region=CITY,
                                           month="2026-03", ordinal=34, drawn=2)  # fmt: skip
    assert state.qc_drawn
    with pytest.raises(ValidationFailed):
        decider.decide(
            PublishWebReply(qc_draw=QcDraw(request_id="rq-x", ordinal=1, drawn=1), at=T0), decider.run([_web()])[0]
        )


def _drawn_reply() -> domain.IntakeState:
    draw = QcDraw(request_id="rq-w", ordinal=1, drawn=1)
    return decider.run([_web(), PublishWebReply(qc_draw=draw, at=T0)])[0]


def test_an_inspection_records_the_result_and_the_inspector():
    """Seed 000: the drawn reply is inspected (质检): pass, or needs correction with the reason."""
    state, events = decider.run(
        [InspectWebReply(result=QcResult.NEEDS_CORRECTION, inspector="qc-7", reason="cites a repealed article", at=T0)],
        _drawn_reply(),
    )
    assert events == [WebReplyInspected(result=QcResult.NEEDS_CORRECTION, inspector="qc-7",
                                        reason="cites a repealed article", inspected_at=T0, region=CITY)]  # fmt: skip
    state, _ = decider.run([InspectWebReply(result=QcResult.PASS, inspector="qc-7", at=T0)], state)  # after correction
    assert state.qc_result is QcResult.PASS
    with pytest.raises(DomainError):
        decider.decide(InspectWebReply(result=QcResult.PASS, inspector="qc-8", at=T0), state)


def test_needs_correction_names_the_reason_and_only_drawn_replies_are_inspected():
    """Seed 000: an inspection concerns a drawn reply; a correction without a reason tells nobody what to fix."""
    with pytest.raises(ValidationFailed) as err:
        decider.decide(InspectWebReply(result=QcResult.NEEDS_CORRECTION, inspector="qc-7", at=T0), _drawn_reply())
    assert err.value.field == "reason"
    not_drawn = decider.run([_web(), PublishWebReply(at=T0)])[0]
    with pytest.raises(InvalidTransition, match="drawn"):
        decider.decide(InspectWebReply(result=QcResult.PASS, inspector="qc-7", at=T0), not_drawn)


# -- through the API (in-memory adapters) -------------------------------------------------------------------
SETTINGS = PlatformSettings()


@pytest.fixture
def api():
    now = [T0]
    adapters = memory_adapters(lambda: now[0])
    app = create_app(Settings(platform=SETTINGS), **adapters)
    headers = token(SETTINGS, "dept:intake", ["intake:read", "intake:write"])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers), adapters


async def test_published_replies_are_drawn_by_the_quota_and_a_retry_draws_nothing_more(api):
    """Seed 000: the 1st and the 34th reply of a region's month are drawn (ceil(3% × 34) = 2); a retried reply
    (same key) replays without counting again."""
    client, adapters = api
    async with client as c:
        ids = [(await c.post("/web/questions", json={"region": CITY, "topic": "labour"})).json()["request_id"]
               for _ in range(35)]  # fmt: skip
        replies = [await c.post(f"/requests/{rid}/reply", headers={"Idempotency-Key": f"reply-{rid}"}) for rid in ids]
        assert [r.json()["qc_drawn"] for r in replies] == [True] + [False] * 32 + [True, False]
        again = await c.post(f"/requests/{ids[0]}/reply", headers={"Idempotency-Key": f"reply-{ids[0]}"})
        assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
        month = (await c.get(f"/qc/{CITY}/2026-03")).json()
        assert month == {"region": CITY, "month": "2026-03", "version": 35, "published": 35, "drawn": 2, "quota": 2}
        refused = await c.post(f"/requests/{ids[1]}/reply")
        assert refused.status_code == 409
        assert (await c.get(f"/qc/{CITY}/2026-03")).json()["published"] == 35  # a refused reply is never counted
        bad = await c.post(f"/requests/{ids[0]}/inspection", json={"result": "needs_correction", "inspector": "qc-1"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
        ok = await c.post(f"/requests/{ids[0]}/inspection", json={"result": "pass", "inspector": "qc-1"})
        assert ok.json()["qc_result"] == "pass"
        undrawn = await c.post(f"/requests/{ids[1]}/inspection", json={"result": "pass", "inspector": "qc-1"})
        assert undrawn.status_code == 409
    drawn = [e for e in adapters["store"].all_events() if e.type == "caseflow.intake.web_reply_drawn_for_qc"]
    assert [e.data["ordinal"] for e in drawn] == [1, 34]
