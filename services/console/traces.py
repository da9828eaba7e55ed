"""Reading the OpenTelemetry span file written by `shared.telemetry.JsonLinesSpanExporter` (one span per line).

The metrics timeline carries no trace id per step, so a step is matched to the span that published it
(`publish <event type>` with attribute `caseflow.case_id` = the step's case id) or, failing that, the span that
consumed it (`process <event type>`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

MAX_BYTES = 32 * 1024 * 1024  # only the newest part of a large file is read: the console must stay quick


def _spans(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - MAX_BYTES))
        if size > MAX_BYTES:
            fh.readline()  # skip the partial first line
        for raw in fh:
            try:
                span = json.loads(raw)
            except ValueError:
                continue  # a line being written right now
            if isinstance(span, dict) and "trace_id" in span and "name" in span:
                yield span


def spans_of(path: Path, trace_id: str) -> list[dict[str, Any]]:
    return [s for s in _spans(path) if s["trace_id"] == trace_id]


def trace_ids_for_steps(path: Path, steps: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Index of each step → the trace id of the span that published (or consumed) its event."""
    out: dict[int, str] = {}
    for i, s in enumerate(steps):  # a future timeline may carry the id itself
        tid = s.get("trace_id") or _from_traceparent(s.get("traceparent"))
        if tid:
            out[i] = tid
    wanted = {(s.get("subject"), s.get("event_type")): i for i, s in enumerate(steps) if i not in out}
    if not wanted:
        return out
    consumed: dict[int, str] = {}
    for span in _spans(path):
        kind, _, event_type = str(span["name"]).partition(" ")
        case = (span.get("attributes") or {}).get("caseflow.case_id")
        found = wanted.get((case, event_type))
        if found is None:
            continue
        i = found
        if kind == "publish":
            out.setdefault(i, span["trace_id"])
        elif kind == "process":
            consumed.setdefault(i, span["trace_id"])
    for i, tid in consumed.items():
        out.setdefault(i, tid)
    return out


def _from_traceparent(tp: Any) -> str | None:
    parts = str(tp).split("-") if tp else []
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
