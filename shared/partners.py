"""Partner traffic rules shared by every consumer of partner inbound topics."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import ConsumerRecord

from shared.contracts.common import Partner, PartnerRequest
from shared.envelope import Envelope
from shared.events import Event, registry
from shared.topics import PARTNERS


def partner_of_topic(topic: str) -> str | None:
    """`<prefix>.partner.<name>.inbound` → name (None for any other topic)."""
    parts = topic.split(".")
    if len(parts) >= 4 and parts[-3] == "partner" and parts[-1] == "inbound" and parts[-2] in PARTNERS:
        return parts[-2]
    return None


def partners_sending(models: Iterable[type[Event]]) -> list[str]:
    """The partners (in `PARTNERS` order) that may send any of these request types: whose inbound topics a
    department that handles them subscribes to."""
    senders: set[Partner] = set()
    for model in models:
        if issubclass(model, PartnerRequest):
            senders |= model.senders
    return [p for p in PARTNERS if Partner(p) in senders]


def inbound_guard(msg: ConsumerRecord, env: Envelope) -> str | None:
    """Refuse impersonation and requests a partner may not send.

    An event on a partner's inbound topic must name that partner as its source (the broker's ACLs let only the
    partner's principal write its inbound topic, so topic == principal), and be a partner request that partner
    may send (`PartnerRequest.senders`: only the court rules on judicial confirmation, only 12345 and 110
    transfer calls, …).
    """
    partner = partner_of_topic(msg.topic)
    if partner is None:
        return None
    if env.source != f"partner/{partner}":
        return f"source {env.source!r} does not match the sending partner 'partner/{partner}'"
    model = registry.model_for(env.type) if env.type in registry else None
    if model is None or not issubclass(model, PartnerRequest):
        return f"{env.type} is not a partner request: partners send caseflow.partner.* events"
    if Partner(partner) not in model.senders:
        allowed = ", ".join(sorted(p.value for p in model.senders))
        return f"the {partner} may not send {env.type} (sent by: {allowed})"
    return None
