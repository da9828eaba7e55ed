"""Published indicators equal the query API and a rebuild: advisor service hours logged in two cities of one
province, and an advisor assigned to a village the reference data does not list (the province's villages counted
grow after its hours per village were published). The indicator on `metrics.indicators` must move with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.metrics.config import Settings
from services.metrics.main import create_app
from services.metrics.periods import current_period
from services.metrics.rebuild import compare_with_writer, published_indicators
from services.metrics.writer import running_writer
from shared.contracts.intake import AdvisorAssigned, AdvisorServiceKind, AdvisorServiceLogged
from shared.envelope import Envelope
from shared.topics import Topics
from tests.conftest import token
from tests.integration.helpers import eventually
from tests.integration.metrics.test_metrics_flow import produce

pytestmark = pytest.mark.integration
PROVINCE = "430000000000"  # 湖南省
CHENZHOU_VILLAGE = "431002001001"  # on record
CHANGSHA_VILLAGE = "430102001001"  # another city of the province, not on record


def advisor_event(payload: AdvisorServiceLogged | AdvisorAssigned, village: str, at: datetime) -> Envelope:
    stream = f"adv-{village}"
    return Envelope.wrap(payload, source="caseflow/intake", subject=stream, correlationid=stream,
                         actor="dept:intake", time=at)  # fmt: skip


def logged(village: str, hours: float, at: datetime) -> Envelope:
    payload = AdvisorServiceLogged(village_region=village, advisor_id="adv-it-1", hours=hours,
                                   kind=AdvisorServiceKind.CONSULTATION, served_on=at.date(), logged_at=at)  # fmt: skip
    return advisor_event(payload, village, at)


async def test_advisor_hours_published_equal_the_query_api_and_a_rebuild(platform, tmp_path):
    """法律顾问服务时长 (seed 000, indicator 20: hours per village per year). Chenzhou's hours are logged two days
    ago; today an advisor is assigned to a Changsha village not on record and logs hours: the province's cell of two
    days ago gets no new hours, but one more village, so it must be published again."""
    settings = Settings(platform=platform, state_dir=tmp_path)
    intake = Topics(platform.topic_prefix).department("intake")
    now = datetime.now(UTC) - timedelta(minutes=5)
    earlier = now - timedelta(days=2)
    day, this_year = current_period("day", earlier), current_period("year", now)
    app = create_app(settings)
    headers = token(platform, "dept:ops", ["metrics:read"])
    async with (
        running_writer(settings) as writer,
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as client,
    ):
        await produce(platform, intake, [logged(CHENZHOU_VILLAGE, 6.0, earlier)])

        async def served() -> dict:
            r = await client.get("/indicators/advisor_hours", params={"region": PROVINCE, "period": day})
            return r.json()

        async def published() -> dict | None:
            return (await published_indicators(platform)).get(f"advisor_hours|{PROVINCE}|{day}")

        async def first_published() -> bool:
            return (p := await published()) is not None and p["numerator"] == 6.0

        await eventually(first_published, timeout=40, what="the province's hours per village published")
        before = (await served())["denominator"]

        assigned = AdvisorAssigned(village_region=CHANGSHA_VILLAGE, advisor_id="adv-it-2", assigned_at=now)
        await produce(platform, intake, [advisor_event(assigned, CHANGSHA_VILLAGE, now),
                                         logged(CHANGSHA_VILLAGE, 2.0, now)])  # fmt: skip
        await eventually(
            lambda: (
                writer.reducer.engine.value("advisor_hours", PROVINCE, this_year, now).numerator
                == (8.0 if current_period("year", earlier) == this_year else 2.0)
            ),
            timeout=40,
            what="the second city's hours reduced",
        )

        async def agreed() -> bool:
            api, topic = await served(), await published()
            return (
                topic is not None
                and api["denominator"] == before + 1
                and (topic["value"], topic["numerator"], topic["denominator"])
                == (api["value"], api["numerator"], api["denominator"])
            )

        await eventually(agreed, timeout=20, what="published = served for the province's hours per village")
        assert (await served())["numerator"] == 6.0  # that day's hours: one more village, no more hours

        async def rebuilt_equal() -> bool:  # `caseflow rebuild --check`
            comparison = await compare_with_writer(settings, show_progress=False)
            return comparison.equal and comparison.published > 0

        await eventually(rebuilt_equal, timeout=30, what="published indicators = the rebuild")
        assert writer.dead_lettered == 0
