"""The AsyncAPI 3.0 contracts document, generated from the event registry (the published language as a spec).

Channels are the topics of `shared.topics` with the prefix as the `{prefix}` parameter (default `caseflow`);
messages are every registered event type with its payload JSON Schema (pydantic) and the CloudEvents Kafka
headers (binary content mode); operations say which department sends and receives what, and which partner
(法院 / 公安 / 检察院 / 信访 / 12345 / 110) sends on its inbound topic and receives on its outbound topic (each
request's `senders`, each notice's `recipients`).

`python -m shared.asyncapi --write` regenerates `docs/asyncapi.json` and `docs/schemas/<event_type>.json`;
`--check` exits 1 when the checked-in files differ from what the code generates.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

import shared.contracts  # noqa: F401  (registers every event type)
from shared.contracts import metrics as metric_contracts
from shared.contracts import partners as partner_contracts
from shared.contracts.common import Partner, PartnerNotice, PartnerRequest, ReferralRefused
from shared.events import Event, EventRegistry, registry
from shared.topics import DEPARTMENTS, PARTNERS

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "asyncapi.json"
SCHEMA_DIR = ROOT / "docs" / "schemas"
SCHEMA_BASE = "https://caseflow.example/schemas/"

#: The departments that take intake's referrals and may answer one with `ReferralRefused` (shared/referrals.py).
REFERRAL_TAKERS = ("legal_aid", "mediation")
#: What each department consumes besides partner traffic (its `runtime.subscribe` wiring in `main.py`).
DEPARTMENT_RECEIVES: dict[str, dict[str, tuple[str, ...]]] = {
    "intake": {
        **dict.fromkeys(REFERRAL_TAKERS, (ReferralRefused.event_type,)),
        "partner_inbound": (
            "caseflow.partner.call_transferred",
            "caseflow.partner.transfer_accepted",
            "caseflow.partner.transfer_handled",
        ),
    },
    "legal_aid": {
        "intake": ("caseflow.intake.request_referred",),
        "partner_inbound": (
            "caseflow.partner.notified_defence_requested",
            "caseflow.partner.detainee_application_forwarded",
        ),
    },
    "mediation": {
        "intake": ("caseflow.intake.request_referred",),
        "partner_inbound": ("caseflow.partner.dispute_referred", "caseflow.partner.judicial_confirmation_decided"),
    },
    "notary": {
        "legal_aid": ("caseflow.legal_aid.notary_fee_waiver_granted",),
        "partner_inbound": ("caseflow.partner.notary_commissioned", "caseflow.partner.notarial_document_feedback"),
    },
}
#: Indicator events the metrics service publishes on the compacted indicators topic.
INDICATOR_MESSAGES = (metric_contracts.IndicatorChanged.event_type, metric_contracts.IndicatorTargetCrossed.event_type)

CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes as Kafka headers (binary content mode); the value is the JSON data.",
    "required": [
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_specversion",
        "ce_time",
        "ce_subject",
        "ce_correlationid",
        "ce_actor",
        "ce_schemaversion",
        "content-type",
    ],
    "properties": {
        "ce_id": {"type": "string", "description": "Event id; consumers drop duplicates by it"},
        "ce_source": {
            "type": "string",
            "description": "`caseflow/<department>` or `partner/<name>` (a partner of `shared.topics.PARTNERS`; must "
            "match the topic)",
        },
        "ce_type": {"type": "string", "description": "The event type (`caseflow.<owner>.<past_tense>`)"},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "Case id (partner reference on inbound); the Kafka key"},
        "ce_correlationid": {"type": "string", "description": "End-to-end id the case keeps across departments"},
        "ce_causationid": {"type": "string", "description": "Id of the event or request that caused this one"},
        "ce_traceparent": {"type": "string", "description": "W3C trace context"},
        "ce_actor": {"type": "string", "description": "Who acted (audit), e.g. `partner:court`, `dept:legal_aid`"},
        "ce_schemaversion": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Payload schema version"},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def owner_of(event_type: str) -> str:
    """`caseflow.<owner>.<name>` → owner (a department or `partner`)."""
    return event_type.split(".")[1]


def partner_requests(reg: EventRegistry = registry) -> list[type[Event]]:
    """Events partners send: the `PartnerRequest` models of `shared.contracts.partners`."""
    return [m for m in reg.models() if issubclass(m, PartnerRequest) and inspect.getmodule(m) is partner_contracts]


def partner_notices(reg: EventRegistry = registry) -> list[type[Event]]:
    """Events partners receive: every registered `PartnerNotice` subclass."""
    return [m for m in reg.models() if issubclass(m, PartnerNotice)]


def sent_by(partner: str, reg: EventRegistry = registry) -> list[str]:
    """The request types `partner` may send (their `senders` name it)."""
    return [m.event_type for m in partner_requests(reg) if Partner(partner) in m.senders]  # type: ignore[attr-defined]


def received_by(partner: str, reg: EventRegistry = registry) -> list[str]:
    """The notice types that may be addressed to `partner` (their `recipients` name it)."""
    return [m.event_type for m in partner_notices(reg) if Partner(partner) in m.recipients]  # type: ignore[attr-defined]


def event_schema(model: type[Event]) -> dict[str, Any]:
    """The standalone JSON Schema of one event payload (published as `docs/schemas/<event_type>.json`)."""
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{model.event_type}.json",
        "x-event-type": model.event_type,
        "x-schema-version": model.version,
        **schema,
    }


def _summary(model: type) -> str:
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")  # its own docstring, not the base class's
    return doc.splitlines()[0] if doc else model.__name__


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def build(reg: EventRegistry = registry) -> dict[str, Any]:
    models = list(reg.models())
    keyed, defs = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(sorted(defs.get("$defs", {}).items()))
    schemas["CloudEventsHeaders"] = CE_HEADERS
    messages: dict[str, Any] = {}
    for m in models:
        payload = keyed[(m, "serialization")]
        messages[m.event_type] = {
            "name": m.event_type,
            "title": m.__name__,
            "summary": _summary(m),
            "contentType": "application/json",
            "headers": {
                "allOf": [
                    _ref("schemas", "CloudEventsHeaders"),
                    {
                        "type": "object",
                        "properties": {
                            "ce_type": {"const": m.event_type},
                            "ce_schemaversion": {"const": str(m.version)},
                        },
                    },
                ]
            },
            "payload": payload,
            "bindings": {"kafka": {"key": {"type": "string", "description": "the envelope subject (case id)"}}},
            "x-schema-version": m.version,
            "x-json-schema": f"schemas/{m.event_type}.json",
        }
    prefix = {"prefix": {"description": "Topic prefix (CASEFLOW_TOPIC_PREFIX)", "default": "caseflow"}}

    def channel(address: str, description: str, types: list[str]) -> dict[str, Any]:
        return {
            "address": address,
            "description": description,
            "parameters": prefix,
            "messages": {t: _ref("messages", t) for t in types},
        }

    types = [m.event_type for m in models]
    channels: dict[str, Any] = {}
    for dept in DEPARTMENTS:
        channels[f"{dept}.events"] = channel(
            f"{{prefix}}.{dept}.events",
            f"Every event of the {dept} department (key = case id, per-case order).",
            [t for t in types if owner_of(t) == dept]
            + ([ReferralRefused.event_type] if dept in REFERRAL_TAKERS else []),
        )
    for p in PARTNERS:
        channels[f"partner.{p}.inbound"] = channel(
            f"{{prefix}}.partner.{p}.inbound",
            f"What the {p} sends; only its principal may write here and `ce_source` must be `partner/{p}`.",
            sent_by(p, reg),
        )
        channels[f"partner.{p}.outbound"] = channel(
            f"{{prefix}}.partner.{p}.outbound",
            f"Notices addressed to the {p}, copied here by the router (same id and correlation id).",
            received_by(p, reg),
        )
    channels["metrics.indicators"] = channel(
        "{prefix}.metrics.indicators",
        "Indicator values (compacted); every partner may read it.",
        list(INDICATOR_MESSAGES),
    )
    channels["deadletter"] = {
        "address": "{prefix}.deadletter",
        "description": "Refused messages with the original bytes and headers plus dlq_reason, dlq_error, dlq_topic, "
        "dlq_partition, dlq_offset.",
        "parameters": prefix,
        "messages": {},
    }

    def op(action: str, chan: str, msgs: list[str], summary: str) -> dict[str, Any]:
        return {
            "action": action,
            "summary": summary,
            "channel": {"$ref": f"#/channels/{chan}"},
            "messages": [{"$ref": f"#/channels/{chan}/messages/{t}"} for t in msgs],
        }

    operations: dict[str, Any] = {}
    for dept in DEPARTMENTS:
        owned = list(channels[f"{dept}.events"]["messages"])
        operations[f"{dept}.publish"] = op("send", f"{dept}.events", owned, f"{dept} publishes its events")
        for source, wanted in DEPARTMENT_RECEIVES.get(dept, {}).items():
            if source == "partner_inbound":
                for p in PARTNERS:
                    offered = set(channels[f"partner.{p}.inbound"]["messages"])
                    got = [t for t in wanted if t in offered]
                    if got:
                        operations[f"{dept}.receive.{p}"] = op(
                            "receive", f"partner.{p}.inbound", got, f"{dept} consumes the {p}'s requests"
                        )
            else:
                operations[f"{dept}.receive.{source}"] = op(
                    "receive", f"{source}.events", list(wanted), f"{dept} consumes {source} events"
                )
    for p in PARTNERS:
        operations[f"{p}.send"] = op("send", f"partner.{p}.inbound", sent_by(p, reg), f"the {p} sends requests")
        operations[f"{p}.receive"] = op(
            "receive", f"partner.{p}.outbound", received_by(p, reg), f"the {p} receives notices"
        )
        operations[f"{p}.receive_indicators"] = op(
            "receive", "metrics.indicators", list(INDICATOR_MESSAGES), f"the {p} follows the indicators"
        )
    for dept in DEPARTMENTS:
        notices = [m.event_type for m in partner_notices(reg) if owner_of(m.event_type) == dept]
        if notices:
            operations[f"router.receive.{dept}"] = op(
                "receive", f"{dept}.events", notices, f"the router forwards {dept}'s PartnerNotice events"
            )
    for p in PARTNERS:
        operations[f"router.send.{p}"] = op(
            "send", f"partner.{p}.outbound", received_by(p, reg), f"the router copies notices for the {p}"
        )

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "caseflow events",
            "version": "1.0.0",
            "description": "Public legal service cases (公共法律服务) across departments and partner organs. Generated "
            "by `python -m shared.asyncapi --write` from the event registry; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "Local broker (make run); production uses SASL/SCRAM per principal",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _dump(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def rendered(reg: EventRegistry = registry) -> dict[Path, str]:
    """Every generated file and its content."""
    files = {DOC_PATH: _dump(build(reg))}
    for m in reg.models():
        files[SCHEMA_DIR / f"{m.event_type}.json"] = _dump(event_schema(m))
    return files


def differences(reg: EventRegistry = registry) -> list[str]:
    """Generated files that are missing or differ on disk, and stale schema files no event owns."""
    files = rendered(reg)
    out = [str(p.relative_to(ROOT)) for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    if SCHEMA_DIR.exists():
        out += [str(p.relative_to(ROOT)) for p in sorted(SCHEMA_DIR.glob("*.json")) if p not in files]
    return out


def write(reg: EventRegistry = registry) -> list[Path]:
    files = rendered(reg)
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        if stale not in files:
            stale.unlink()
    for path, text in files.items():
        path.write_text(text, "utf-8")
    return list(files)


def check_or_write(*, regenerate: bool) -> int:
    """Regenerate the documents, or compare them with the code; the exit code."""
    if regenerate:
        print(f"wrote {len(write())} files")
        return 0
    stale = differences()
    if stale:
        print("out of date (run `python -m shared.asyncapi --write`):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    print("asyncapi documents in sync")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m shared.asyncapi --write | --check``; returns the exit code."""
    import typer  # here, not at the top: the gateway imports this module for `sent_by` alone

    app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0])

    @app.command()
    def asyncapi(
        write: bool = typer.Option(False, "--write", help="regenerate docs/asyncapi.json and docs/schemas/"),  # noqa: B008
        check: bool = typer.Option(False, "--check", help="exit 1 when the documents are out of date"),  # noqa: B008
    ) -> None:
        if write == check:
            raise typer.BadParameter("give exactly one of --write and --check")
        raise typer.Exit(check_or_write(regenerate=write))

    try:
        app(args=argv, prog_name="python -m shared.asyncapi")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
