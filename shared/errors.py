"""The one error family: domain errors are values with a code, a message and (optionally) the field at fault.

HTTP maps them to RFC 9457 problem+json (`shared.api`); consumers map them to dead-letter records.
"""

from __future__ import annotations


class CaseflowError(Exception):
    """Base of every error the platform raises on purpose."""

    code = "caseflow_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class DomainError(CaseflowError):
    """A business rule refused the command (the request was well-formed)."""

    code = "rule_violated"
    http_status = 409


class InvalidTransition(DomainError):
    """The command is not allowed in the aggregate's current state."""

    code = "invalid_transition"

    def __init__(self, command: str, state: str, detail: str = "") -> None:
        msg = f"cannot {command} a case in state '{state}'"
        super().__init__(f"{msg}: {detail}" if detail else msg)
        self.command = command
        self.state = state


class ValidationFailed(CaseflowError):
    """Input that passed the schema but is semantically invalid (e.g. a bad check digit)."""

    code = "validation_failed"
    http_status = 422


class NotFound(CaseflowError):
    code = "not_found"
    http_status = 404


class ConcurrencyConflict(CaseflowError):
    """Another writer appended to the stream first; reload and decide again."""

    code = "concurrency_conflict"
    http_status = 409


class IdempotencyKeyReused(CaseflowError):
    """An idempotency key already used for another case: the request is refused, nothing is done."""

    code = "idempotency_key_reused"
    http_status = 409


class Forbidden(CaseflowError):
    code = "forbidden"
    http_status = 403


class Unauthorized(CaseflowError):
    code = "unauthorized"
    http_status = 401


class UnknownEventType(CaseflowError):
    """An event whose type or schema version no registry entry (or upcaster) covers."""

    code = "unknown_event_type"
    http_status = 422


class MalformedEvent(CaseflowError):
    code = "malformed_event"
    http_status = 422
