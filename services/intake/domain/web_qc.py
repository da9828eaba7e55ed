"""Web platform quality control (网络平台质检, seed 000 indicator 36: "对已解答问题抽取3%进行质检"): the monthly
quota that draws at least 3% of each region's published replies, and the inspector's result on a drawn reply."""

from __future__ import annotations

from services.intake.domain.commands import CountWebReply, InspectWebReply, PublishWebReply
from services.intake.domain.refusals import refuse, request_of
from services.intake.domain.rules import QC_RULE, china_month, qc_draws
from services.intake.domain.state import Empty, IntakeState, QcMonth, Request
from shared.contracts.intake_review import QcResult, WebReplyCounted, WebReplyDrawnForQc, WebReplyInspected
from shared.errors import DomainError, ValidationFailed
from shared.events import Event


def count_web_reply(c: CountWebReply, state: IntakeState) -> list[Event]:
    """Count a published reply in its region's China month; it is drawn while the month is under its quota. The
    handler counts under the key `qc:<request id>@<counter>`, so a retried count replays; a drawn reply is never
    counted twice."""
    month = china_month(c.at)
    if isinstance(state, Empty):
        state = QcMonth(region=c.region, month=month)
    if not isinstance(state, QcMonth):
        raise refuse(c, state, "not a QC counter")
    if (state.region, state.month) != (c.region, month):
        raise ValidationFailed(f"this counter is {state.region} {state.month}", field="region")
    if state.draw_of(c.request_id) is not None:
        return []
    ordinal = state.published + 1
    drawn = qc_draws(ordinal, len(state.draws))
    return [
        WebReplyCounted(
            region=c.region, month=month, request_id=c.request_id, ordinal=ordinal, drawn=drawn, counted_at=c.at
        )
    ]


def drawn_for_qc(c: PublishWebReply, s: Request) -> list[Event]:
    """The draw event a published reply carries when its month's counter drew it."""
    if c.qc_draw is None:
        return []
    if c.qc_draw.request_id != s.request_id:
        raise ValidationFailed("the QC draw names another request", field="qc_draw")
    return [
        WebReplyDrawnForQc(
            rule=QC_RULE,
            drawn_at=c.at,
            region=s.region,
            month=china_month(c.at),
            ordinal=c.qc_draw.ordinal,
            drawn=c.qc_draw.drawn,
        )
    ]


def inspect_web_reply(c: InspectWebReply, state: IntakeState) -> list[Event]:
    """An inspector's result on a drawn reply; a reply that needed correction is inspected again once corrected."""
    s = request_of(state)
    if not s.qc_drawn:
        raise refuse(c, s, "only a reply drawn for quality inspection is inspected")
    if s.qc_result is QcResult.PASS:
        raise DomainError("the reply already passed inspection", field="result")
    if c.result is QcResult.NEEDS_CORRECTION and c.reason is None:
        raise ValidationFailed("a reply that needs correction names the reason", field="reason")
    return [
        WebReplyInspected(result=c.result, inspector=c.inspector, reason=c.reason, inspected_at=c.at, region=s.region)
    ]
