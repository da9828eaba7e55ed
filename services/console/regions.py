"""The division tree for the drill-down (市 → 县区 → 乡镇街道 → 村社区), from the metrics service's reference data.

A 12-digit division code encodes its level: province `PP0000000000`, city `PPCC00000000`, county
`PPCCDD000000`, town `PPCCDDTTT000`, village (anything else).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from services.metrics.reference import load_regions


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


def level(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "town"
    return "village"


def parent(code: str) -> str | None:
    return {
        "province": None,
        "city": code[:2] + "0" * 10,
        "county": code[:4] + "0" * 8,
        "town": code[:6] + "0" * 6,
        "village": code[:9] + "000",
    }[level(code)]


@cache
def all_regions() -> dict[str, Region]:
    rf = load_regions()
    rows = [(r.code, r.name_zh, r.name_en) for r in rf.regions] + [(v.code, v.name_zh, v.name_en) for v in rf.villages]
    return {code: Region(code, zh, en) for code, zh, en in rows}


def get(code: str) -> Region:
    """The region of the reference data, or one that says it is not on record (an event from before the front
    door checked regions) with its code."""
    return all_regions().get(code) or Region(code, "未登记", f"not on record ({code})")


def children(code: str) -> list[Region]:
    return [r for r in all_regions().values() if parent(r.code) == code]


def ancestors(code: str) -> list[Region]:
    """From the top (province) down to `code` itself."""
    out: list[Region] = []
    cursor: str | None = code
    while cursor is not None:
        out.append(get(cursor))
        cursor = parent(cursor)
    return list(reversed(out))


def pickable() -> list[Region]:
    """Regions an operator can choose in the picker: cities and below, in code order."""
    return sorted((r for r in all_regions().values() if level(r.code) != "province"), key=lambda r: r.code)
