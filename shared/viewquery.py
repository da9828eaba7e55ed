"""The filter language of read-model queries, turned into SQL over a view's declared columns.

A filter is a dict in the familiar document-query shape: `{"status": "open", "due_by": {"$lt": now}}`, with
`$eq $ne $lt $lte $gt $gte $in $nin $prefix`, `$or`/`$and`/`$nor` over lists of filters, and `None` meaning
SQL NULL. `_id`
names the row id. On an array column (`text[]`) equality means "contains" and `$in` "overlaps". A field that is
not a declared column is a programming error, refused before any SQL is sent. `matches` evaluates the same
language on a document in memory (the unit tests' read models), so both sides read a filter alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import sql

SQL_TYPES = frozenset(
    {"text", "integer", "bigint", "boolean", "timestamptz", "date", "numeric", "double precision", "text[]"}
)
_COMPARE = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">="}


def where(query: Mapping[str, Any], columns: Mapping[str, str]) -> tuple[sql.Composable, list[Any]]:
    params: list[Any] = []
    return _all(query, columns, params), params


def order_by(field: str, descending: bool, columns: Mapping[str, str]) -> sql.Composable:
    direction = sql.SQL(" DESC NULLS LAST" if descending else " ASC NULLS LAST")
    if field in ("_id", "id"):
        return sql.SQL("id") + direction
    _column(field, columns)
    return sql.SQL("{}{}, id").format(sql.Identifier(field), direction)


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
