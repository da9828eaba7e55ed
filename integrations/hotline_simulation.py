"""What the simulated 12345 government hotline and 110 dispatch say (热线联动, seeds 002 and 004): the calls they
transfer to 12348, and their answers to a call 12348 transferred to them — the ticket they opened at once, the
result a little later. Pure builders; `integrations/simulator.py` sends them."""

from __future__ import annotations

import random
from datetime import datetime

from shared.contracts.common import Partner
from shared.contracts.hotline_linkage import RequestTransferred
from shared.contracts.intake import RequestKind
from shared.contracts.partners import CallTransferred, TransferAccepted, TransferHandled

#: what each hotline hands to 12348: (topic code, why, what is asked)
TRANSFERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    Partner.HOTLINE_12345.value: (
        ("labour", "市民反映被拖欠工资, 涉及法律援助申请", "告知法律援助申请条件并安排受理"),
        ("marriage_family", "离婚财产分割咨询, 属法律服务事项", "提供法律咨询"),
        ("consumer", "网购纠纷, 市民要求调解", "引导至人民调解"),
    ),
    Partner.DISPATCH_110.value: (
        ("neighbourhood", "非警务警情: 邻里噪音纠纷", "组织人民调解员上门调解"),
        ("contract_debt", "非警务警情: 民间借贷纠纷", "提供法律咨询"),
        ("damages", "非警务警情: 轻微财产损害赔偿争议", "引导申请调解"),
    ),
}
#: what each hotline reports once it handled a call 12348 transferred to it
RESULTS = {
    Partner.HOTLINE_12345.value: ("已转交住建部门处理并回复市民", "已协调物业解决, 市民满意"),
    Partner.DISPATCH_110.value: ("民警已到场处置, 警情已消除", "已立案侦查"),
}


def call_transferred(partner: str, reference: str, region: str, rng: random.Random, now: datetime) -> CallTransferred:
    topic, reason, asked = rng.choice(TRANSFERS[partner])
    return CallTransferred(
        partner_reference=reference,
        region=region,
        kind=rng.choice((RequestKind.CONSULTATION, RequestKind.HELP)),
        topic=topic,
        reason=reason,
        asked=asked,
        transferred_at=now,
        deadline_hours=rng.choice((24, 48, 72)),
    )


def answers(
    partner: str, notice: RequestTransferred, reference: str, rng: random.Random, now: datetime
) -> tuple[TransferAccepted, TransferHandled]:
    """The hotline's two answers to a call 12348 handed it: accepted under `reference`, then handled."""
    accepted = TransferAccepted(partner_reference=reference, request_id=notice.request_id, accepted_at=now)
    handled = TransferHandled(
        partner_reference=reference, request_id=notice.request_id, outcome=rng.choice(RESULTS[partner]), handled_at=now
    )
    return accepted, handled
