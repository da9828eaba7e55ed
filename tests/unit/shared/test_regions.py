"""The regions the platform serves: one reference list, one validator every department's HTTP bodies use."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from services.metrics.reference import load_regions
from shared.contracts.common import region_ancestors
from shared.regions import KnownRegion, known_regions

DEPARTMENTS = ("intake", "legal_aid", "mediation", "notary")
REGION_FIELDS = ("region", "to_region", "regions")


def _body_region_fields() -> list[tuple[str, type[BaseModel], str]]:
    out = []
    for dept in DEPARTMENTS:
        module = importlib.import_module(f"services.{dept}.schemas")
        for name in dir(module):
            model = getattr(module, name)
            is_model = isinstance(model, type) and issubclass(model, BaseModel)
            if is_model and model.__name__.endswith(("Body", "In")) and model.__module__ == module.__name__:
                out += [(dept, model, f) for f in REGION_FIELDS if f in model.model_fields]
    return out


def test_every_department_body_naming_a_region_refuses_one_the_reference_data_does_not_list():
    """Seeds 000–004 name the five jurisdictions the platform serves; their divisions are the reference data. A
    body naming another region is refused before anything is stored (issue 20: intake referred a region legal
    aid does not serve, and the case stayed "referred" forever)."""
    fields = _body_region_fields()
    assert {dept for dept, _, _ in fields} == set(DEPARTMENTS)
    for dept, model, name in fields:
        annotation = model.model_fields[name].annotation
        value: object = ["110101000000"] if name == "regions" else "110101000000"
        with pytest.raises(ValidationError) as caught:
            model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
        assert any(e["type"] == "region_unknown" for e in caught.value.errors()), (dept, model, annotation)


def test_known_regions_are_the_reference_data_with_every_ancestor_and_every_committee_area():
    """Every division the reference data lists has its ancestors listed too, and every region a mediation committee
    covers (services/mediation/committees.json) is served: the front door never refuses a region a department
    serves."""
    known = known_regions()
    assert {"431000000000", "420700000000", "440200000000", "500114000000", "340300000000"} <= known  # seeds 000–004
    listed = {r.code for r in load_regions().regions} | {v.code for v in load_regions().villages}
    assert not {a for code in listed for a in region_ancestors(code)} - listed  # every ancestor has a row (a name)
    assert not known & {"430000000000", "500000000000", "500100000000"}  # above the jurisdictions: no one serves it
    committees = json.loads(Path("services/mediation/committees.json").read_text(encoding="utf-8"))
    rows = committees if isinstance(committees, list) else committees["committees"]
    assert not {r for c in rows for r in c["regions"]} - known


def test_a_known_region_passes_and_the_rule_names_the_reference_data():
    class Body(BaseModel):
        region: KnownRegion

    assert Body(region="431002001001").region == "431002001001"
    with pytest.raises(ValidationError, match="a division code in the reference data"):
        Body(region="431002001999")
    with pytest.raises(ValidationError, match="pattern"):
        Body(region="4310")
