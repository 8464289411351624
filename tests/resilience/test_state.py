"""The breaker file's reads (plexsync/resilience/state.py)."""

from __future__ import annotations

from pathlib import Path

from plexsync.resilience import state
from plexsync.resilience.breaker import PROBE_STALE


def _half_open(data_dir: str, probe_started_at: float) -> None:
    s = state.fresh(0.0)
    s.update(state="half_open", failures=5, opened_at=10.0, probe_delay=5.0,
             probe_owner="gone-123", probe_started_at=probe_started_at)
    state.write(data_dir, s)


def test_a_running_probe_keeps_the_hook_waiting(tmp_path: Path) -> None:
    _half_open(str(tmp_path), probe_started_at=1000.0)
    assert state.probe_pending(str(tmp_path), 1000.0 + PROBE_STALE / 2)


def test_a_probe_whose_prober_died_no_longer_keeps_the_hook_waiting(tmp_path: Path) -> None:
    # The prober (timer or task) was killed mid-probe: half_open stays in the file. The hook
    # must fall through to its usual drain request once anyone may take the probe over, or
    # no edit would ever ask for a drain again until someone ran a task by hand.
    _half_open(str(tmp_path), probe_started_at=1000.0)
    assert not state.probe_pending(str(tmp_path), 1000.0 + PROBE_STALE + 1)


def test_a_breaker_file_with_a_time_of_the_wrong_type_reads_as_closed_and_damaged(
        tmp_path: Path) -> None:
    # Valid JSON, wrong-typed time fields: the hook's check (and status, Health Check) must
    # not crash on float("soon"); the hook would fail and the scene edit would not be queued.
    (tmp_path / state.FILE).write_text(
        '{"state": "open", "failures": 5, "opened_at": "yesterday", "next_probe_at": "soon"}')
    assert not state.probe_pending(str(tmp_path), 1000.0)
    read, problem = state.read(str(tmp_path), 1000.0)
    assert read["state"] == "closed" and problem


def test_an_outage_record_without_its_times_reads_as_damaged(tmp_path: Path) -> None:
    (tmp_path / state.FILE).write_text('{"state": "closed", "outages": [{"start": 1}]}')
    read, problem = state.read(str(tmp_path), 1000.0)
    assert read["outages"] == [] and problem
