"""The five reference cities with their counties, towns and villages (services/metrics/data/regions.json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGIONS_FILE = Path(__file__).resolve().parents[2] / "services" / "metrics" / "data" / "regions.json"
#: the jurisdictions of the seeds (DOMAIN.md): 郴州 鄂州 韶关 黔江 蚌埠
CITY_CODES = ("431000", "420700", "440200", "500114", "340300")


@dataclass(frozen=True)
class City:
    code: str  # 6-digit city code
    name: str
    population: int
    counties: tuple[str, ...]
    towns: tuple[str, ...]
    villages: tuple[tuple[str, str | None], ...]  # (village code, its advisor or None)

    @property
    def region(self) -> str:
        return self.code + "000000"

    def under(self, level: str, pick: int) -> str:
        """A region code of `level` (city | county | town | village) in the city, the `pick`-th of its kind."""
        pools = {"county": self.counties, "town": self.towns, "village": tuple(v for v, _ in self.villages)}
        pool = pools.get(level) or ()
        return pool[pick % len(pool)] if pool else self.region


def city_of(cities: Sequence[City], region: str) -> str:
    """The 6-digit city code a 12-digit region lies in (a district's own code for 黔江区)."""
    return next((c.code for c in cities if region.startswith(c.code[:4] if c.code.endswith("00") else c.code)),
                region[:6])  # fmt: skip


def _level(code: str) -> str:
    if code.endswith("00000000"):
        return "city"
    if code.endswith("000000"):
        return "county"
    return "town" if code.endswith("000") else "village"


@cache
def load_cities(path: Path = REGIONS_FILE) -> tuple[City, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    cities = []
    for code in CITY_CODES:
        prefix = code[:4] if code.endswith("00") else code  # a prefecture city, or a district (黔江区)
        regions = [r for r in data["regions"] if r["code"].startswith(prefix)]
        top = next(r for r in regions if r["code"] == code + "000000")
        below = [r["code"] for r in regions if r["code"] != top["code"]]
        villages = tuple((v["code"], v.get("advisor_id")) for v in data["villages"] if v["code"].startswith(prefix))
        cities.append(
            City(
                code=code,
                name=top["name_en"],
                population=int(top["population"] or 0),
                counties=tuple(c for c in below if _level(c) == "county"),
                towns=tuple(c for c in below if _level(c) == "town"),
                villages=villages,
            )
        )
    return tuple(cities)
