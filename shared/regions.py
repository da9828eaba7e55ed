"""The regions the platform serves (参考区域) and `KnownRegion`, the type every department's HTTP bodies use for them.

The list is the metrics reference data (`services/metrics/data/regions.json`: the five jurisdictions of the seeds,
their counties, towns and villages), read once per process; provinces are there for names and roll-ups only. A
body naming a region outside it is refused at the front door with 422 naming the field and the rule, before
anything is stored or referred on. Event contracts keep the plain `RegionCode`, so events stored before a region
left the list still decode.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from shared.contracts.common import RegionCode, region_ancestors

REGIONS_FILE = Path(__file__).resolve().parents[1] / "services" / "metrics" / "data" / "regions.json"


@cache
def known_regions(path: Path = REGIONS_FILE) -> frozenset[str]:
    """The division codes of the reference data a request may name: each of the seeds' jurisdictions and every
    county, town and village under it (a row with a census population, or under one). A province, or Chongqing's
    municipal-district level above Qianjiang, is on record for names and roll-ups only: no department serves it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    populated = {row["code"] for row in data["regions"] if row.get("population")}
    codes = {row["code"] for key in ("regions", "villages") for row in data[key]}
    return frozenset(c for c in codes if populated.intersection(region_ancestors(c)))


def _served(code: str) -> str:
    if code not in known_regions():
        raise PydanticCustomError(
            "region_unknown", "a division code in the reference data (regions served), got {code}", {"code": code}
        )
    return code


#: A 12-digit division code the reference data lists: what an HTTP body may name as a region.
KnownRegion = Annotated[RegionCode, AfterValidator(_served)]
