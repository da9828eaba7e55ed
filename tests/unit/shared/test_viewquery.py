"""The read models' filter language becomes SQL over declared columns only, with every value a parameter."""

import pytest

from shared.viewquery import order_by, where

COLUMNS = {"status": "text", "due": "timestamptz", "tags": "text[]", "region": "text"}


def sql_of(query: dict) -> tuple[str, list]:
    condition, params = where(query, COLUMNS)
    return condition.as_string(), params


def test_equality_comparisons_and_null_are_plain_sql_with_parameters():
    text, params = sql_of({"status": "open", "due": {"$lt": 5, "$ne": None}, "region": None})
    assert text == '"status" = %s AND "due" < %s AND "due" IS NOT NULL AND "region" IS NULL'
    assert params == ["open", 5]


def test_an_array_column_matches_an_element_and_in_means_overlap():
    assert sql_of({"tags": "a"}) == ('%s = ANY("tags")', ["a"])
    assert sql_of({"tags": {"$in": ["a", "b"]}}) == ('"tags" && %s', [["a", "b"]])
    assert sql_of({"status": {"$in": ("x",)}}) == ('"status" = ANY(%s)', [["x"]])


def test_or_and_nor_group_their_filters():
    text, params = sql_of({"$or": [{"status": "a"}, {"status": "b"}], "$nor": [{"region": "4301"}]})
    assert text == '("status" = %s OR "status" = %s) AND NOT coalesce(("region" = %s), false)'
    assert params == ["a", "b", "4301"]


def test_a_prefix_escapes_the_like_wildcards_it_contains():
    assert sql_of({"region": {"$prefix": "43_1%"}}) == ('"region" LIKE %s', ["43\\_1\\%%"])


def test_an_empty_filter_matches_everything_and_id_is_always_there():
    assert sql_of({}) == ("TRUE", [])
    assert sql_of({"_id": {"$ne": "x"}}) == ("id IS DISTINCT FROM %s", ["x"])


@pytest.mark.parametrize(
    "query, message",
    [
        ({"title": "x"}, "not a column"),
        ({"status": {"$regex": "^a"}}, "unknown filter operator"),
        ({"$or": []}, "non-empty list"),
    ],
)
def test_a_filter_outside_the_language_is_refused_before_any_sql(query, message):
    with pytest.raises(ValueError, match=message):
        where(query, COLUMNS)


def test_sorting_is_on_a_column_then_the_id_so_pages_are_stable():
    assert order_by("due", True, COLUMNS).as_string() == '"due" DESC NULLS LAST, id DESC'
    assert order_by("_id", False, COLUMNS).as_string() == "id ASC NULLS LAST"
    with pytest.raises(ValueError):
        order_by("title", False, COLUMNS)
