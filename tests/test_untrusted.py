"""Parsing what strangers send: every malformed input is a ValueError, never another error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from syndicate.untrusted import MAX_DEPTH, http_date, loads, timestamp


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_past_the_limit_is_a_value_error_however_deep(opener):
    for depth in (MAX_DEPTH + 1, 5_000, 200_000):  # json.loads alone: RecursionError
        with pytest.raises(ValueError, match="nested"):
            loads(opener * depth)


def test_json_nested_to_the_limit_is_read():
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(text) == json.loads(text)


def test_brackets_inside_strings_are_not_nesting():
    text = json.dumps({"a": "[" * 10_000 + '\\"{' * 500})
    assert loads(text) == json.loads(text)


def test_json_that_is_not_utf8_is_a_value_error():
    with pytest.raises(ValueError):
        loads(b'{"a": "\xff"}')


@pytest.mark.parametrize("value", ["9" * 400, 10**20, -(10**20), "soon", "", True, None, 1.5])
def test_a_unix_time_out_of_range_or_not_one_is_a_value_error(value):
    with pytest.raises(ValueError):
        timestamp(value)


def test_a_unix_time_is_an_aware_moment():
    assert timestamp("1800000000") == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def test_an_http_date_in_zone_minus_0000_is_utc():
    assert http_date("Tue, 08 Dec 2026 01:00:00 -0000") == datetime(2026, 12, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yesterday", "", "Tue, 08 Dec 99999 01:00:00 GMT"])
def test_a_date_that_is_not_one_is_a_value_error(value):
    with pytest.raises(ValueError):
        http_date(value)
