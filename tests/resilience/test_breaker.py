"""The breaker's states, transitions and shared file (no servers, no sleeping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plexsync.errors import LowConfidence, PlexAuth, PlexBadRequest, PlexNotFound, PlexServerDown
from plexsync.resilience import breaker as breaker_mod
from plexsync.resilience import state as files
from plexsync.resilience.breaker import Breaker, counts_as_failure


def make(tmp_path: Path, warnings: list[str] | None = None) -> Breaker:
    return Breaker(str(tmp_path), warn=(warnings.append if warnings is not None else None))


def open_breaker(b: Breaker, now: float) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for _ in range(breaker_mod.FAILURE_THRESHOLD):
        state = b.failure(now, plex_url="http://plex:32400")
    return state


def test_breaker_opens_after_five_consecutive_outage_failures(tmp_path: Path) -> None:
    b = make(tmp_path)
    for _ in range(4):
        assert b.failure(100.0)["state"] == "closed"
    state = b.failure(100.0)
    assert state["state"] == "open" and state["opened_at"] == 100.0
    assert state["next_probe_at"] == 100.0 + breaker_mod.PROBE_BASE


def test_a_success_resets_the_consecutive_count(tmp_path: Path) -> None:
    b = make(tmp_path)
    for _ in range(4):
        b.failure(1.0)
    b.success(2.0)
    assert b.failure(3.0)["state"] == "closed"


@pytest.mark.parametrize("error", [PlexNotFound("x"), LowConfidence("x"), PlexBadRequest("x"),
                                   PlexAuth("x"), PlexServerDown("x", outage=False)])
def test_only_outage_class_failures_count(error: Exception) -> None:
    assert not counts_as_failure(error)
    assert counts_as_failure(PlexServerDown("refused"))


def test_probes_back_off_from_5_to_60_seconds(tmp_path: Path) -> None:
    b = make(tmp_path)
    now = 1000.0
    state = open_breaker(b, now)
    gaps = []
    for _ in range(7):
        now = float(state["next_probe_at"])
        assert b.begin_probe(now)
        state = b.end_probe(now, ok=False)
        gaps.append(state["next_probe_at"] - now)
    assert gaps == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0, 60.0]


def test_no_probe_before_it_is_due_and_only_one_prober(tmp_path: Path) -> None:
    first, second = make(tmp_path), make(tmp_path)
    state = open_breaker(first, 0.0)
    assert not first.begin_probe(float(state["next_probe_at"]) - 1)
    due = float(state["next_probe_at"])
    assert first.begin_probe(due)
    assert not second.begin_probe(due)
    assert second.peek(due)["state"] == "half_open"


def test_a_dead_probers_half_open_is_taken_over_after_the_stale_time(tmp_path: Path) -> None:
    first, second = make(tmp_path), make(tmp_path)
    due = float(open_breaker(first, 0.0)["next_probe_at"])
    assert first.begin_probe(due)
    assert second.begin_probe(due + breaker_mod.PROBE_STALE)
    first.end_probe(due + 31, ok=True)       # the old prober's late answer changes nothing
    assert second.peek(due + 31)["state"] == "half_open"


def test_good_probe_closes_and_records_the_outage_once(tmp_path: Path) -> None:
    b = make(tmp_path)
    state = open_breaker(b, 100.0)
    b.note_jobs(101.0, 42)
    due = float(state["next_probe_at"])
    assert b.begin_probe(due)
    closed = b.end_probe(due, ok=True)
    assert closed["state"] == "closed" and closed["recovered_at"] == due
    assert closed["outages"] == [{"start": 100.0, "end": due, "duration_s": due - 100.0,
                                  "jobs_affected": 42}]
    assert b.end_probe(due + 1, ok=True)["outages"] == closed["outages"]
    assert b.success(due + 2)["outages"] == closed["outages"]


def test_state_survives_a_new_breaker_object(tmp_path: Path) -> None:
    open_breaker(make(tmp_path), 5.0)
    assert make(tmp_path).peek(6.0)["state"] == "open"


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    def state_change(self, old: str, new: str, state: dict[str, Any]) -> None:
        self.changes.append((old, new))


def test_listeners_see_each_state_change_once(tmp_path: Path) -> None:
    recorder = Recorder()
    b = Breaker(str(tmp_path), listeners=[recorder])
    due = float(open_breaker(b, 0.0)["next_probe_at"])
    b.begin_probe(due)
    b.end_probe(due, ok=True)
    assert recorder.changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


@pytest.mark.parametrize("content", [
    b"", b'{"version": 1, "state": "op', b"\x00garbage\xff", b'["not", "a", "state"]',
    b'{"state": "open", "failures": "x"}'])
def test_a_damaged_file_is_closed_warned_once_and_rewritten(tmp_path: Path, content: bytes) -> None:
    (tmp_path / files.FILE).write_bytes(content)
    warnings: list[str] = []
    b = make(tmp_path, warnings)
    assert b.peek(1.0)["state"] == "closed"
    assert b.failure(1.0)["failures"] == 1
    assert b.failure(2.0)["failures"] == 2
    assert len(warnings) == 1 and "breaker.json" in warnings[0]
    assert files.read(str(tmp_path), 3.0)[1] == ""
