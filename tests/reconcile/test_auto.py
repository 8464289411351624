"""When an automatic reconciliation is due (pure rules of plexsync/reconcile/auto.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from plexsync.core.settings import Settings
from plexsync.reconcile.auto import INTERVALS, PARENT_KEY, STARTUP_AGE, due, started_up

BASE = Settings.from_mapping({"plex_url": "http://plex:32400", "plex_token": "t"})
NOW = 1_700_000_000.0
HOUR = 3600.0


def settings(interval: str) -> Settings:
    return replace(BASE, reconcile_interval=interval)


@pytest.mark.parametrize("interval", ["hourly", "daily", "weekly"])
def test_a_run_falls_due_exactly_one_interval_after_the_last(interval: str) -> None:
    period = INTERVALS[interval]
    assert not due(settings(interval), NOW - period + 1, NOW, False).now
    assert due(settings(interval), NOW - period + 1, NOW, False).next_at == NOW + 1
    assert due(settings(interval), NOW - period, NOW, False).now


def test_never_means_never_not_even_at_start_up_or_without_any_run() -> None:
    assert not due(settings("never"), None, NOW, True).now
    assert not due(settings("never"), NOW - 30 * 86400, NOW, True).now
    assert due(settings("never"), None, NOW, True).next_at is None


def test_the_first_run_is_due_at_once_when_auto_reconcile_is_on() -> None:
    assert due(settings("weekly"), None, NOW, False).reason == "first run"


def test_start_up_runs_one_only_when_the_last_is_older_than_an_hour() -> None:
    assert due(settings("daily"), NOW - STARTUP_AGE - 1, NOW, True).reason == "startup"
    assert not due(settings("daily"), NOW - STARTUP_AGE + 60, NOW, True).now
    assert not due(settings("daily"), NOW - 5 * HOUR, NOW, False).now


def test_a_new_parent_process_is_a_start_up_and_the_same_one_is_not() -> None:
    assert started_up({}, 4242)
    assert started_up({PARENT_KEY: "17"}, 4242)
    assert not started_up({PARENT_KEY: "4242"}, 4242)
