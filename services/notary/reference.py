"""Notary reference data: the matter catalogue (`matters.json`), the versioned file beside this module, loaded and
validated at start (sample data is marked with `_comment`)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.notary.domain import MatterCatalogue

HERE = Path(__file__).resolve().parent


def _data(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)  # fees are exact yuan
    return {k: v for k, v in raw.items() if not k.startswith("_")}  # "_comment" marks sample data


def load_catalogue(path: Path = HERE / "matters.json") -> MatterCatalogue:
    return MatterCatalogue.model_validate(_data(path))
