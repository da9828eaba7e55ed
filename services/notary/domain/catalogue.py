"""The matter catalogue (公证事项): each matter type with its material checklist (材料清单) and standard fee."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.common import Money, ShortText
from shared.contracts.notary import MaterialId, MatterId
from shared.errors import ValidationFailed


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MaterialSpec(_Frozen):
    id: MaterialId
    name_zh: ShortText
    name_en: ShortText


class MatterSpec(_Frozen):
    """One matter type (公证事项) with its material checklist (材料清单) and standard fee in yuan."""

    id: MatterId
    name_zh: ShortText
    name_en: ShortText
    materials: list[MaterialSpec] = Field(min_length=1, max_length=30)
    standard_fee: Annotated[Money, Field(le=100_000)]

    @model_validator(mode="after")
    def _unique_materials(self) -> MatterSpec:
        ids = [m.id for m in self.materials]
        if len(ids) != len(set(ids)):
            raise ValueError(f"matter {self.id}: duplicate material ids")
        return self

    @property
    def material_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.materials)


class MatterCatalogue(_Frozen):
    version: ShortText
    matters: list[MatterSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_matters(self) -> MatterCatalogue:
        ids = [m.id for m in self.matters]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate matter ids")
        return self

    def get(self, matter_id: str) -> MatterSpec:
        for m in self.matters:
            if m.id == matter_id:
                return m
        known = ", ".join(m.id for m in self.matters)
        raise ValidationFailed(f"unknown matter type {matter_id!r} (known: {known})", field="matter")

    def __contains__(self, matter_id: object) -> bool:
        return any(m.id == matter_id for m in self.matters)
