"""Task argument parsing: error types and since."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plexsync.errors import InputError
from plexsync.tasks.args import parse_error_types, parse_since
from tests.tasks.conftest import DAY


def test_error_types_are_case_insensitive_and_default_to_plex_server_down() -> None:
    assert parse_error_types(None) == ["PlexServerDown"]
    assert parse_error_types(" plexnotfound , LowConfidence") == [
        "PlexNotFound", "LowConfidence"]
    assert parse_error_types("all") is None


def test_since_accepts_days_back_or_an_iso_date() -> None:
    now = datetime(2024, 5, 10, tzinfo=UTC).timestamp()
    assert parse_since("7", now) == now - 7 * DAY
    assert parse_since("2024-05-01", now) == datetime(2024, 5, 1, tzinfo=UTC).timestamp()
    assert parse_since("", now) is None
    with pytest.raises(InputError, match="since argument"):
        parse_since("last tuesday", now)


