"""The checked-in AsyncAPI document and JSON Schemas match the code; the document says who sends what."""

import json

import pytest

from shared import asyncapi
from shared.contracts.partners import DisputeReferred, JudicialConfirmationDecided
from shared.events import registry


def test_checked_in_documents_match_the_code():
    stale = asyncapi.differences()
    assert stale == [], f"run `python -m shared.asyncapi --write`; out of date: {stale}"


def test_check_mode_exits_1_when_a_schema_file_drifts(tmp_path, monkeypatch):
    monkeypatch.setattr(asyncapi, "ROOT", tmp_path)
    monkeypatch.setattr(asyncapi, "DOC_PATH", tmp_path / "docs" / "asyncapi.json")
    monkeypatch.setattr(asyncapi, "SCHEMA_DIR", tmp_path / "docs" / "schemas")
    assert asyncapi.main(["--check"]) == 1  # nothing written yet
    assert asyncapi.main(["--write"]) == 0
    assert asyncapi.main(["--check"]) == 0
    path = tmp_path / "docs" / "schemas" / f"{DisputeReferred.event_type}.json"
    path.write_text(path.read_text().replace('"summary"', '"resume"'))
    assert asyncapi.main(["--check"]) == 1
    (tmp_path / "docs" / "schemas" / "caseflow.gone.event.json").write_text("{}")
    assert "docs/schemas/caseflow.gone.event.json" in asyncapi.differences()


@pytest.mark.parametrize("argv", [[], ["--write", "--check"], ["--bogus"]])
def test_command_line_wants_exactly_one_of_write_and_check(argv):
    assert asyncapi.main(argv) == 2


def test_every_registered_event_is_a_message_with_its_schema():
    doc = asyncapi.build()
    assert doc["asyncapi"] == "3.0.0"
    assert set(registry.types()) <= set(doc["components"]["messages"])
    for model in registry.models():
        message = doc["components"]["messages"][model.event_type]
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"} or message["payload"][
            "$ref"
        ].endswith(model.__name__)
        assert message["headers"]["allOf"][1]["properties"]["ce_type"] == {"const": model.event_type}


def test_every_ref_resolves():
    doc = asyncapi.build()

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for ref in set(refs(doc)):
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"dangling $ref {ref}"
            target = target[part]


def test_partners_send_on_inbound_and_receive_notices_on_outbound():
    doc = asyncapi.build()
    police_in = doc["channels"]["partner.police.inbound"]
    assert police_in["address"] == "{prefix}.partner.police.inbound"
    assert police_in["parameters"]["prefix"]["default"] == "caseflow"
    assert DisputeReferred.event_type in police_in["messages"]
    assert JudicialConfirmationDecided.event_type not in police_in["messages"]  # only the court rules
    assert JudicialConfirmationDecided.event_type in doc["channels"]["partner.court.inbound"]["messages"]
    police_out = set(doc["channels"]["partner.police.outbound"]["messages"])
    assert "caseflow.mediation.referral_acknowledged" in police_out
    assert "caseflow.legal_aid.assignment_notified" in police_out
    assert "caseflow.mediation.confirmation_requested" not in police_out
    assert "caseflow.notary.commission_reported" in doc["channels"]["partner.court.outbound"]["messages"]
    ops = doc["operations"]
    assert ops["police.send"]["action"] == "send"
    assert ops["mediation.receive.police"]["channel"] == {"$ref": "#/channels/partner.police.inbound"}
    assert [m["$ref"].rsplit("/", 1)[1] for m in ops["notary.receive.court"]["messages"]] == [
        "caseflow.partner.notary_commissioned",
        "caseflow.partner.notarial_document_feedback",
    ]


@pytest.mark.parametrize("model", list(registry.models()), ids=lambda m: m.event_type)
def test_published_schema_names_every_field_and_required_field(model):
    schema = json.loads((asyncapi.SCHEMA_DIR / f"{model.event_type}.json").read_text())
    assert schema["x-event-type"] == model.event_type
    assert schema["x-schema-version"] == model.version
    assert set(schema.get("properties", {})) == set(model.model_fields)
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    assert required <= set(schema.get("required", []))


def test_the_documented_receive_side_matches_what_the_services_subscribe():
    """Build each service (no I/O until its lifespan) and compare its consumer wiring with the document."""
    from services.legal_aid.config import Settings as LegalAidSettings
    from services.legal_aid.main import create_app as legal_aid_app
    from services.mediation.config import Settings as MediationSettings
    from services.mediation.main import create_app as mediation_app
    from services.notary.config import Settings as NotarySettings
    from services.notary.main import create_app as notary_app
    from shared.settings import PlatformSettings
    from shared.topics import PARTNERS, Topics

    platform = PlatformSettings(topic_prefix="caseflow")
    topics = Topics("caseflow")
    apps = {
        "legal_aid": legal_aid_app(LegalAidSettings(platform=platform)),
        "mediation": mediation_app(MediationSettings(platform=platform, sweep_interval_seconds=0)),
        "notary": notary_app(NotarySettings(platform=platform)),
    }
    ops = asyncapi.build()["operations"]
    for dept, app in apps.items():
        wired: set[tuple[str, str]] = set()
        for _name, topic_names, handlers, _accept in app.state.runtime._consumer_specs:
            for topic in topic_names:
                wired |= {(topic, model.event_type) for model in handlers}
        documented: set[tuple[str, str]] = set()
        for op_id, op in ops.items():
            if op_id.startswith(f"{dept}.receive."):
                channel = op["channel"]["$ref"].rsplit("/", 1)[1]
                documented |= {(f"caseflow.{channel}", m["$ref"].rsplit("/", 1)[1]) for m in op["messages"]}
        # a handler on a partner's topic for an event that partner may not send only ever refuses it
        allowed = {(topics.partner_inbound(p), t) for p in PARTNERS for t in asyncapi.sent_by(p)}
        partner_topics = {topics.partner_inbound(p) for p in PARTNERS}
        wired = {(topic, t) for topic, t in wired if topic not in partner_topics or (topic, t) in allowed}
        assert documented == wired, dept


def test_the_petition_office_12345_and_110_have_channels_with_their_own_traffic():
    """Seed 004 (访调对接; 12348 ↔ 12345 ↔ 110 联动): each new partner's inbound channel carries what it sends, its
    outbound what is addressed to it, and intake consumes the hotlines' requests."""
    doc = asyncapi.build()
    channels, operations = doc["channels"], doc["operations"]
    assert set(channels["partner.petition_office.inbound"]["messages"]) == {DisputeReferred.event_type}
    assert set(channels["partner.petition_office.outbound"]["messages"]) == {
        "caseflow.mediation.referral_acknowledged",
        "caseflow.mediation.outcome_notified",
        "caseflow.platform.partner_event_rejected",
    }
    for hotline in ("hotline_12345", "dispatch_110"):
        assert set(channels[f"partner.{hotline}.inbound"]["messages"]) == {
            "caseflow.partner.call_transferred",
            "caseflow.partner.transfer_accepted",
            "caseflow.partner.transfer_handled",
        }
        assert set(channels[f"partner.{hotline}.outbound"]["messages"]) == {
            "caseflow.intake.request_transferred",
            "caseflow.intake.transfer_result_reported",
            "caseflow.platform.partner_event_rejected",
        }
        assert operations[f"intake.receive.{hotline}"]["action"] == "receive"
    assert "caseflow.intake.request_transferred" not in channels["partner.police.outbound"]["messages"]
    assert "mediation.receive.petition_office" in operations
