"""Logging with the case id and trace id on every line, so operations can grep one case across services."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

from opentelemetry import trace

_case_id: contextvars.ContextVar[str] = contextvars.ContextVar("case_id", default="-")


@contextlib.contextmanager
def case_context(case_id: str) -> Iterator[None]:
    token = _case_id.set(case_id)
    try:
        yield
    finally:
        _case_id.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.case_id = _case_id.get()
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else "-"
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s [case=%(case_id)s trace=%(trace_id)s] %(message)s"


def setup_logging(level: str = "INFO", service: str = "caseflow") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_ContextFilter())
    handler.setFormatter(logging.Formatter(f"{service} {FORMAT}"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "psycopg", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
