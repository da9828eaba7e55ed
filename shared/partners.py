"""Partner traffic rules shared by every consumer of partner inbound topics."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from shared.envelope import Envelope
from shared.topics import PARTNERS


def partner_of_topic(topic: str) -> str | None:
    """`<prefix>.partner.<name>.inbound` → name (None for any other topic)."""
    parts = topic.split(".")
    if len(parts) >= 4 and parts[-3] == "partner" and parts[-1] == "inbound" and parts[-2] in PARTNERS:
        return parts[-2]
    return None


def inbound_guard(msg: ConsumerRecord, env: Envelope) -> str | None:
    """Refuse impersonation: an event on a partner's inbound topic must name that partner as its source.

    The broker's ACLs let only the partner's principal write its inbound topic, so topic == principal.
    """
    partner = partner_of_topic(msg.topic)
    if partner is None:
        return None
    if env.source != f"partner/{partner}":
        return f"source {env.source!r} does not match the sending partner 'partner/{partner}'"
    return None
