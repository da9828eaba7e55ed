"""The filter language of read-model queries, turned into SQL over a view's declared columns.

A filter is a dict in the familiar document-query shape: `{"status": "open", "due_by": {"$lt": now}}`, with
`$eq $ne $lt $lte $gt $gte $in $nin $prefix`, `$or`/`$and`/`$nor` over lists of filters, and `None` meaning
SQL NULL. `_id`
names the row id. On an array column (`text[]`) equality means "contains" and `$in` "overlaps". A field that is
not a declared column is a programming error, refused before any SQL is sent. `matches` evaluates the same
language on a document in memory (the unit tests' read models), so both sides read a filter alike.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from psycopg import sql

from shared.errors import ValidationFailed

SQL_TYPES = frozenset(
    {"text", "integer", "bigint", "boolean", "timestamptz", "date", "numeric", "double precision", "text[]"}
)
_COMPARE = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


def where(query: Mapping[str, Any], columns: Mapping[str, str]) -> tuple[sql.Composable, list[Any]]:
    params: list[Any] = []
    return _all(query, columns, params), params


def order_by(field: str, descending: bool, columns: Mapping[str, str]) -> sql.Composable:
    """The sort column (NULLs last), then the id in the same direction: a total order pages can follow."""
    direction = sql.SQL(" DESC NULLS LAST" if descending else " ASC NULLS LAST")
    if field in ("_id", "id"):
        return sql.SQL("id") + direction
    _column(field, columns)
    return sql.SQL("{}{}, id{}").format(sql.Identifier(field), direction, sql.SQL(" DESC" if descending else ""))


# -- keyset pagination: a cursor names the last row of a page -------------------------------------------------
def cursor_after(doc: Mapping[str, Any], sort: str) -> str:
    """An opaque cursor for the row after which the next page starts (its sort value and id)."""
    value = doc.get("_id") if sort in ("_id", "id") else doc.get(sort)
    raw = json.dumps([_encode(value), doc["_id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(token: str) -> tuple[Any, str]:
    """The (sort value, id) a cursor names; a malformed one is the client's error (422 naming `after`)."""
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(row_id, str):
            raise TypeError
        return _decode(value), row_id
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailed(f"not a cursor this list gave out: {token[:40]!r}", field="after") from None


def seek(token: str, sort: str, descending: bool, columns: Mapping[str, str]) -> tuple[sql.Composable, list[Any]]:
    """The condition for the rows after the cursor's row in `order_by(sort, descending)`."""
    value, row_id = read_cursor(token)
    beyond = sql.SQL("<" if descending else ">")
    if sort in ("_id", "id"):
        return sql.SQL("id {} %s").format(beyond), [row_id]
    col, _ = _column(sort, columns)
    if value is None:  # inside the NULLs, which come last: only ids beyond
        return sql.SQL("({} IS NULL AND id {} %s)").format(col, beyond), [row_id]
    return (
        sql.SQL("({col} {b} %s OR ({col} = %s AND id {b} %s) OR {col} IS NULL)").format(col=col, b=beyond),
        [value, value, row_id],
    )


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$date"}:
        return datetime.fromisoformat(value["$date"])
    return value


def _all(query: Mapping[str, Any], columns: Mapping[str, str], params: list[Any]) -> sql.Composable:
    parts: list[sql.Composable] = []
    for key, value in query.items():
        if key in ("$or", "$and", "$nor"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"{key} takes a non-empty list of filters")
            joiner = sql.SQL(" AND " if key == "$and" else " OR ")
            group = sql.SQL("(") + joiner.join(_all(q, columns, params) for q in value) + sql.SQL(")")
            parts.append(sql.SQL("NOT coalesce(") + group + sql.SQL(", false)") if key == "$nor" else group)
        elif isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            parts.extend(_operator(key, op, arg, columns, params) for op, arg in value.items())
        else:
            parts.append(_operator(key, "$eq", value, columns, params))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def _operator(field: str, op: str, arg: Any, columns: Mapping[str, str], params: list[Any]) -> sql.Composable:
    col, is_array = _column(field, columns)
    if op in ("$eq", "$ne"):
        negate = op == "$ne"
        if arg is None:
            return col + sql.SQL(" IS NOT NULL" if negate else " IS NULL")
        params.append(arg)
        if is_array:
            test = sql.SQL("%s = ANY({})").format(col)
            return sql.SQL("NOT ") + test if negate else test
        return col + sql.SQL(" IS DISTINCT FROM %s" if negate else " = %s")
    if op in ("$in", "$nin"):
        values = list(arg)
        params.append(values)
        test = sql.SQL("{} && %s").format(col) if is_array else sql.SQL("{} = ANY(%s)").format(col)
        return sql.SQL("NOT coalesce(") + test + sql.SQL(", false)") if op == "$nin" else test
    if op == "$prefix":
        params.append(str(arg).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        return col + sql.SQL(" LIKE %s")
    if op in _COMPARE:
        params.append(arg)
        return col + sql.SQL(f" {_COMPARE[op]} %s")
    raise ValueError(f"unknown filter operator {op!r} on {field!r}")


def _column(field: str, columns: Mapping[str, str]) -> tuple[sql.Composable, bool]:
    if field in ("_id", "id"):
        return sql.SQL("id"), False
    if field not in columns:
        raise ValueError(f"{field!r} is not a column of this view (declared: {', '.join(columns)})")
    return sql.Identifier(field), columns[field].endswith("[]")


# -- the same language on a document in memory -----------------------------------------------------------------
def matches(doc: Mapping[str, Any], query: Mapping[str, Any], columns: Mapping[str, str]) -> bool:
    """Whether a view document satisfies the filter (same meaning as `where`, NULL comparisons included)."""
    for key, value in query.items():
        if key in ("$or", "$and", "$nor"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"{key} takes a non-empty list of filters")
            results = [matches(doc, q, columns) for q in value]
            ok = any(results) if key == "$or" else all(results) if key == "$and" else not any(results)
        elif isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            ok = all(_holds(doc, key, op, arg, columns) for op, arg in value.items())
        else:
            ok = _holds(doc, key, "$eq", value, columns)
        if not ok:
            return False
    return True


def _holds(doc: Mapping[str, Any], field: str, op: str, arg: Any, columns: Mapping[str, str]) -> bool:
    _column(field, columns)
    is_array = field in columns and columns[field].endswith("[]")
    value = doc.get("_id" if field in ("_id", "id") else field)
    if op in ("$eq", "$ne"):
        if arg is None:
            found = value is None
        else:
            found = arg in (value or ()) if is_array else value == arg
        return not found if op == "$ne" else found
    if op in ("$in", "$nin"):
        values = list(arg)
        found = bool(set(value or ()) & set(values)) if is_array else value in values and value is not None
        return not found if op == "$nin" else found
    if op == "$prefix":
        return isinstance(value, str) and value.startswith(str(arg))
    if op in _COMPARE:
        if value is None:
            return False  # SQL: a comparison with NULL is never true
        return bool({"$lt": value < arg, "$lte": value <= arg, "$gt": value > arg, "$gte": value >= arg}[op])
    raise ValueError(f"unknown filter operator {op!r} on {field!r}")


def after_cursor(doc: Mapping[str, Any], token: str, sort: str, descending: bool) -> bool:
    """Whether a document comes after the cursor's row in `order_by(sort, descending)` (the in-memory `seek`)."""
    value, row_id = read_cursor(token)
    mine = doc.get("_id") if sort in ("_id", "id") else doc.get(sort)
    if sort in ("_id", "id"):
        return bool(doc["_id"] < row_id if descending else doc["_id"] > row_id)
    if value is None:
        return mine is None and bool(doc["_id"] < row_id if descending else doc["_id"] > row_id)
    if mine is None:
        return True
    if mine == value:
        return bool(doc["_id"] < row_id if descending else doc["_id"] > row_id)
    return bool(mine < value if descending else mine > value)
