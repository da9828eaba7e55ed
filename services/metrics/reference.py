"""Versioned reference data shipped with the service: the indicator catalogue and population/villages per region.

`data/indicators.json` is the catalogue (indicators, deadlines, city profiles with their targets);
`data/regions.json` holds 2020-census population per region and the villages/communities with their legal
advisors (村居法律顾问) for the five jurisdictions of the seeds (counties, towns and villages are a sample).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from services.metrics.domain import Catalogue, Reference

DATA = Path(__file__).parent / "data"


class RegionRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^\d{12}$")
    name_zh: str
    name_en: str
    population: int | None = Field(default=None, ge=1)


class VillageRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^\d{12}$")
    name_zh: str
    name_en: str
    advisor_id: str | None = None
    advisor_kind: str | None = None


class RegionFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    population_source: str
    regions: list[RegionRow]
    villages: list[VillageRow]


@cache
def load_catalogue(path: Path = DATA / "indicators.json") -> Catalogue:
    return Catalogue.model_validate_json(path.read_text(encoding="utf-8"))


@cache
def load_regions(path: Path = DATA / "regions.json") -> RegionFile:
    return RegionFile.model_validate(json.loads(path.read_text(encoding="utf-8")))


def load_reference(path: Path = DATA / "regions.json") -> Reference:
    rf = load_regions(path)
    return Reference(
        population={r.code: r.population for r in rf.regions if r.population},
        villages={v.code: v.advisor_id for v in rf.villages},
    )
