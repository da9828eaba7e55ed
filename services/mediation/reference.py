"""Reference data: mediation committees (人民调解委员会), their mediators (人民调解员) and dispute types.

Loaded from the versioned `committees.json` beside this module (village, town, trade/professional and
stationed committees of the five pilot cities). Answers which committees cover a region and dispute type, and
picks one for an assignment: the most local committee first, a trade committee for its specialism.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.contracts.common import region_ancestors
from shared.contracts.mediation import CommitteeKind
from shared.errors import DomainError, NotFound

DATA_FILE = Path(__file__).with_name("committees.json")


@dataclass(frozen=True)
class Committee:
    id: str
    name: str
    kind: CommitteeKind
    regions: tuple[str, ...]
    dispute_types: tuple[str, ...]
    serves: str | None = None  # stationed committees: the organ they sit with (court, police, …)


@dataclass(frozen=True)
class Mediator:
    id: str
    committee_id: str
    display_name: str
    specialisms: tuple[str, ...]
    active: bool


class CommitteeRegistry:
    def __init__(
        self, version: str, dispute_types: dict[str, str], committees: list[Committee], mediators: list[Mediator]
    ) -> None:
        self.version = version
        self.dispute_types = dispute_types  # id → Chinese name
        self.committees = {c.id: c for c in committees}
        self.mediators = {m.id: m for m in mediators}

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> CommitteeRegistry:
        raw = json.loads(path.read_text(encoding="utf-8"))
        committees = [
            Committee(
                c["id"],
                c["name"],
                CommitteeKind(c["kind"]),
                tuple(c["regions"]),
                tuple(c["dispute_types"]),
                c.get("serves"),
            )
            for c in raw["committees"]
        ]
        mediators = [
            Mediator(m["id"], m["committee_id"], m["display_name"], tuple(m["specialisms"]), bool(m["active"]))
            for m in raw["mediators"]
        ]
        return cls(raw["version"], {t["id"]: t["name"] for t in raw["dispute_types"]}, committees, mediators)

    def put(self, committee: Committee, mediators: list[Mediator]) -> None:
        """Apply the registry stream's view of one committee over the file's (events win over seed data)."""
        self.committees[committee.id] = committee
        for old in [m.id for m in self.mediators.values() if m.committee_id == committee.id]:
            del self.mediators[old]
        self.mediators.update({m.id: m for m in mediators})

    # -- queries -------------------------------------------------------------------------------------------
    def committee(self, committee_id: str) -> Committee:
        try:
            return self.committees[committee_id]
        except KeyError:
            raise NotFound(f"no committee {committee_id!r}", field="committee_id") from None

    def mediator(self, mediator_id: str) -> Mediator:
        try:
            return self.mediators[mediator_id]
        except KeyError:
            raise NotFound(f"no mediator {mediator_id!r}", field="mediator_id") from None

    def mediators_of(self, committee_id: str, *, active_only: bool = True) -> list[Mediator]:
        return [m for m in self.mediators.values() if m.committee_id == committee_id and (m.active or not active_only)]

    def covering(self, region: str, dispute_type: str | None = None) -> list[Committee]:
        """Committees covering `region` (and handling `dispute_type`), most local first, trade before general."""
        ancestors = region_ancestors(region)
        found: list[tuple[int, int, str, Committee]] = []
        for c in self.committees.values():
            if dispute_type is not None and dispute_type not in c.dispute_types:
                continue
            depth = min((ancestors.index(r) for r in c.regions if r in ancestors), default=None)
            if depth is None:
                continue
            specialised = 0 if c.kind in (CommitteeKind.TRADE, CommitteeKind.STATIONED) else 1
            found.append((depth, specialised, c.id, c))
        return [c for *_, c in sorted(found, key=lambda t: t[:3])]

    def coverage_problem(self, region: str, dispute_type: str) -> str | None:
        """Why no committee can take the dispute, or None when one can (the reason goes back to the referrer)."""
        if dispute_type not in self.dispute_types:
            return f"unknown dispute type {dispute_type!r} (known: {', '.join(sorted(self.dispute_types))})"
        if not any(self.mediators_of(c.id) for c in self.covering(region, dispute_type)):
            return f"no mediation committee with an active mediator covers region {region} for {dispute_type}"
        return None

    def pick(self, region: str, dispute_type: str, referrer: str | None = None) -> tuple[Committee, Mediator]:
        """The assignment the registry proposes: the committee stationed with the referring organ if one covers
        the dispute (诉调 / 警调 / 检调对接), else the first covering committee; a mediator by specialism."""
        covering = self.covering(region, dispute_type)
        covering.sort(key=lambda c: referrer is None or c.serves != referrer)  # stable: keeps locality order
        for c in covering:
            mediators = self.mediators_of(c.id)
            if mediators:
                mediators.sort(key=lambda m: (dispute_type not in m.specialisms, m.id))
                return c, mediators[0]
        raise DomainError(
            f"no committee with an active mediator covers region {region} for {dispute_type} disputes",
            field="committee_id",
        )


@cache
def default_registry() -> CommitteeRegistry:
    return CommitteeRegistry.from_file()
