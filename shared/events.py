"""Event payloads, their registry and schema evolution.

Every event type is a frozen pydantic model with a stable `event_type` name and a schema `version`. The
registry maps (type, version) to models; upcasters lift stored payloads of older versions to the current one
on read, so an old event is never rewritten and never breaks a reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import MalformedEvent, UnknownEventType

#: Validation context of a payload read back from a store or topic: value types that tightened a rule after events
#: were written (e.g. `Money`'s two decimal places) accept what was stored instead of refusing history.
STORED = "stored"


class Event(BaseModel):
    """Base of every event payload. Subclasses set `event_type` and `version` and list their fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


class Command(BaseModel):
    """Base of commands: imperative, validated at the edge, never stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=type[Event])


class EventRegistry:
    """Knows every event type of the platform: current model per type, and upcasters from older versions."""

    def __init__(self) -> None:
        self._models: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, model: E) -> E:
        name = model.event_type
        existing = self._models.get(name)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {name!r} registered twice ({existing.__name__}, {model.__name__})")
        self._models[name] = model
        return model

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function lifting a payload of `from_version` to `from_version + 1`."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def model_for(self, event_type: str) -> type[Event]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}", field="type") from None

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._models

    def types(self) -> list[str]:
        return sorted(self._models)

    def models(self) -> Iterable[type[Event]]:
        return (self._models[name] for name in sorted(self._models))

    def load(self, event_type: str, version: int, data: dict[str, Any]) -> Event:
        """Build the current model from a stored payload, upcasting step by step from its version."""
        model = self.model_for(event_type)
        if version > model.version:
            raise UnknownEventType(
                f"{event_type} version {version} is newer than this reader knows (v{model.version})",
                field="schemaversion",
            )
        while version < model.version:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnknownEventType(f"no upcaster for {event_type} from version {version}", field="schemaversion")
            data = step(dict(data))
            version += 1
        try:
            return model.model_validate(data, context={STORED: True})
        except ValidationError as exc:
            raise MalformedEvent(f"{event_type} v{version} payload invalid: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(root)"
    return f"{loc}: {err['msg']}"


#: The platform-wide registry; contract modules register into it on import.
registry = EventRegistry()


def event(model: E) -> E:
    """Class decorator: register an event payload model in the platform registry."""
    return registry.register(model)
