"""Reference data (参考数据) shipped with the service: population and villages per region.

`data/regions.json` holds 2020-census population per region and the villages/communities with their legal
advisors (村居法律顾问) and the advisors' qualifications for the five jurisdictions of the seeds: one sample county per
city is listed complete (every town and village/community of it, `sample_counties`; the file's `villages_source`
says what is real and what is sample).
The evaluation reads it as a `Reference`; the advisors the event stream assigns since are laid over it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import region_ancestors
from shared.contracts.intake import AdvisorKind
from shared.regions import REGIONS_FILE


@dataclass(frozen=True)
class Reference:
    """Reference data the evaluation needs: population and villages (with or without an advisor) per region."""

    population: Mapping[str, int]
    villages: Mapping[str, str | None]  # village code → advisor id (None: no advisor)
    kinds: Mapping[str, str | None] = field(default_factory=dict)  # village code → its advisor's qualification

    def population_of(self, region: str) -> int:
        pop = self.population.get(region)
        if not pop:
            raise MissingPopulation(region)
        return pop

    def villages_under(self, region: str) -> list[str]:
        return [v for v in self.villages if region in region_ancestors(v)]

    def with_advisors(self, advisors: Mapping[str, str | None], kinds: Mapping[str, str | None]) -> Reference:
        """The shipped villages with the advisors (and their qualifications) the event stream has assigned since
        (events win)."""
        return replace(self, villages={**self.villages, **advisors}, kinds={**self.kinds, **kinds})


class MissingPopulation(LookupError):
    def __init__(self, region: str) -> None:
        super().__init__(f"no population on record for region {region}")
        self.region = region


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
    advisor_kind: AdvisorKind | None = None


class SampleCounty(BaseModel):
    """A county whose towns and villages/communities are all listed: how many of each the list holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^\d{6}000000$")
    name_zh: str
    name_en: str
    towns: int = Field(ge=1)
    villages: int = Field(ge=1)


class RegionFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    population_source: str
    villages_source: str
    regions: list[RegionRow]
    villages: list[VillageRow]
    sample_counties: list[SampleCounty]


@cache
def load_regions(path: Path = REGIONS_FILE) -> RegionFile:
    return RegionFile.model_validate(json.loads(path.read_text(encoding="utf-8")))


def load_reference(path: Path = REGIONS_FILE) -> Reference:
    rf = load_regions(path)
    return Reference(
        population={r.code: r.population for r in rf.regions if r.population},
        villages={v.code: v.advisor_id for v in rf.villages},
        kinds={v.code: v.advisor_kind.value if v.advisor_kind else None for v in rf.villages},
    )
