"""The simulated petition office, 12345 hotline and 110 dispatch (no broker: the builders and answers alone).

Sources: seed 004 (访调对接; 12348 ↔ 12345 ↔ 110 联动) and seed 002 (12348 与 110 联动)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from integrations.simulator import PartnerSimulator
from shared.contracts.hotline_linkage import RequestTransferred, TransferResultReported
from shared.contracts.intake import CloseOutcome, RequestKind
from shared.contracts.partners import CallTransferred, DisputeReferred, ReferralKind, TransferAccepted, TransferHandled
from shared.envelope import Envelope
from shared.events import registry
from shared.partners import inbound_guard
from shared.settings import PlatformSettings
from shared.topics import Topics

NOW = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
SETTINGS = PlatformSettings(topic_prefix="sim")


def simulator(*partners: str, seed: int = 5) -> PartnerSimulator:
    return PartnerSimulator(SETTINGS, partners=partners, seed=seed, clock=lambda: NOW)


def guard(partner: str, env: Envelope) -> str | None:
    msg = ConsumerRecord(Topics("sim").partner_inbound(partner), 0, 0, 0, 0, b"", b"", None, 0, 0, [])
    return inbound_guard(msg, env)


def test_the_new_partners_send_their_own_requests_that_pass_the_guard():
    """Seed 004: the petition office refers petition disputes; 12345 and 110 transfer calls under their tickets."""
    sim = simulator("petition_office", "hotline_12345", "dispatch_110")
    sent = {p: sim.build_request(p, "dispute_referred" if p == "petition_office" else "call_transferred")
            for p in ("petition_office", "hotline_12345", "dispatch_110")}  # fmt: skip
    petition = sent["petition_office"].payload(registry)
    assert isinstance(petition, DisputeReferred) and petition.kind is ReferralKind.PETITION
    for hotline, prefix in (("hotline_12345", "12345-"), ("dispatch_110", "JJ110-")):
        payload = sent[hotline].payload(registry)
        assert isinstance(payload, CallTransferred) and payload.partner_reference.startswith(prefix)
        assert payload.kind in (RequestKind.CONSULTATION, RequestKind.HELP)
    for partner, env in sent.items():
        assert env.subject == env.payload(registry).partner_reference  # type: ignore[attr-defined]
        assert guard(partner, env) is None


def test_references_stay_unique_across_a_restart_even_with_the_same_seed():
    """A restarted simulator (same seed, same day) must not reuse a reference: the platform would take it for the
    same case re-sent and drop it."""
    first, restarted = simulator("police", "dispatch_110"), simulator("police", "dispatch_110")
    for partner, kind in (("police", "dispute_referred"), ("dispatch_110", "call_transferred")):
        a, b = first.build_request(partner, kind), restarted.build_request(partner, kind)
        assert a.subject != b.subject and first.run_tag in a.subject and restarted.run_tag in b.subject


def test_a_hotline_answers_a_transfer_with_its_ticket_then_its_result_and_ignores_a_result_report():
    """Seed 002 (110 结果反馈): 110 accepts the call 12348 handed it under a ticket of its own, then reports the
    result, both in the case's correlation id and naming the intake request."""
    sim = simulator("dispatch_110")
    notice = RequestTransferred(
        recipient="dispatch_110", request_id="rq-" + "1" * 32, reason="斗殴", asked="出警", region="431002001000",
        kind=RequestKind.HELP, topic="neighbourhood", transferred_at=NOW,
    )  # fmt: skip
    env = Envelope.wrap(notice, source="caseflow/intake", subject=notice.request_id, correlationid="corr-9",
                        actor="dept:intake")  # fmt: skip
    accepted, handled = sim.answers_for("dispatch_110", env, notice)
    a, h = accepted.payload(registry), handled.payload(registry)
    assert isinstance(a, TransferAccepted) and isinstance(h, TransferHandled)
    assert a.request_id == h.request_id == notice.request_id and a.partner_reference == h.partner_reference
    assert {accepted.correlationid, handled.correlationid} == {"corr-9"} and accepted.causationid == env.id
    assert guard("dispatch_110", accepted) is None and guard("dispatch_110", handled) is None
    report = TransferResultReported(
        recipient="dispatch_110", partner_reference="JJ110-1", request_id="rq-" + "2" * 32,
        outcome=CloseOutcome.ANSWERED, reported_at=NOW,
    )  # fmt: skip
    assert sim.answers_for("dispatch_110", env, report) == []
