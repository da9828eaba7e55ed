"""The certificate register (出证编号): one stream per (office, year) whose version is the last sequence, so
optimistic concurrency makes numbers unique and gap-free; a number is bound to its application, and allocating
again for the same application returns the same number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from shared.contracts.common import CaseId
from shared.contracts.notary import CertificateNumberAllocated, OfficeCode
from shared.decider import Decider
from shared.errors import ValidationFailed
from shared.events import Command, Event


@dataclass(frozen=True)
class Register:
    office: str = ""
    year: int = 0
    last: int = 0
    by_application: tuple[tuple[str, int], ...] = ()

    def sequence_of(self, application_id: str) -> int | None:
        for app, seq in self.by_application:
            if app == application_id:
                return seq
        return None


class AllocateNumber(Command):
    office: OfficeCode
    year: int = Field(ge=2000, le=2200)
    application_id: CaseId
    at: datetime


def register_stream(office: str, year: int) -> str:
    return f"notary-register:{office}:{year}"


def certificate_number(office: str, year: int, sequence: int) -> str:
    """e.g. `(2026)GZ4310证字第000042号` — office, year and a six-digit sequence gap-free per office and year."""
    return f"({year}){office}证字第{sequence:06d}号"


def _decide_register(command: Command, state: Register) -> list[Event]:
    if not isinstance(command, AllocateNumber):
        raise TypeError(f"not a register command: {type(command).__name__}")
    if state.last and (state.office, state.year) != (command.office, command.year):
        raise ValidationFailed("register belongs to another office or year", field="office")
    if state.sequence_of(command.application_id) is not None:
        return []  # bound already (a retried issue): the same number again, never a new one
    return [
        CertificateNumberAllocated(
            office=command.office,
            year=command.year,
            sequence=state.last + 1,
            application_id=command.application_id,
            allocated_at=command.at,
        )
    ]


def _evolve_register(state: Register, event: Event) -> Register:
    if isinstance(event, CertificateNumberAllocated):
        return Register(
            office=event.office,
            year=event.year,
            last=event.sequence,
            by_application=(*state.by_application, (event.application_id, event.sequence)),
        )
    return state


register = Decider("notary_register", Register, _decide_register, _evolve_register)
