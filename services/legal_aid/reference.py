"""Legal aid reference data: city profiles (economic thresholds) and the provider registry, loaded and validated.

Both are configuration files beside this module (`profiles.json`, `providers.json`; sample values, marked as
such), so a city's threshold changes without a code change; amounts are read as exact decimals, never floats. A
region code picks its city profile by its first 6 digits (a city-level or county-level code such as 500114), else
its first 4 digits + "00" (a city).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.legal_aid.domain import Threshold
from shared.contracts.common import Money
from shared.contracts.legal_aid import ProviderId, ProviderType

HERE = Path(__file__).parent
CityCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class CityProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: CityCode
    name: str = Field(min_length=1)
    minimum_living_standard: Annotated[Money, Field(gt=0)]  # yuan per person per month (低保)
    multiplier: Decimal = Field(gt=0, le=10, max_digits=6, decimal_places=3, allow_inf_nan=False)  # seed 004: 2.5
    sample: bool = True  # the figure is sample configuration, not an official rate

    @property
    def threshold(self) -> Threshold:
        return Threshold(self.name, self.minimum_living_standard, self.multiplier)


class Profiles(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = ""
    version: str
    cities: list[CityProfile] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Profiles:
        codes = [c.code for c in self.cities]
        if len(codes) != len(set(codes)):
            raise ValueError("city codes must be unique")
        return self

    def for_region(self, region: str) -> CityProfile | None:
        by_code = {c.code: c for c in self.cities}
        return by_code.get(region[:6]) or by_code.get(region[:4] + "00")


class Provider(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ProviderId
    type: ProviderType
    city: CityCode
    capacity: int = Field(ge=0, le=1000)


class Providers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = ""
    providers: list[Provider]

    def get(self, provider_id: str) -> Provider | None:
        return next((p for p in self.providers if p.id == provider_id), None)


def load_profiles(path: Path | str = HERE / "profiles.json") -> Profiles:
    return Profiles.model_validate(json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal))


def load_providers(path: Path | str = HERE / "providers.json") -> Providers:
    return Providers.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
