"""Outage history: MTTR, MTBF, availability, the last 30 kept."""

from __future__ import annotations

from plexsync.resilience import history
from plexsync.resilience.state import fresh


def test_mttr_mtbf_and_availability_over_the_watched_window() -> None:
    state = fresh(0.0)
    history.append(state, 100.0, 160.0, 3)
    history.append(state, 500.0, 520.0, 0)
    out = history.summary(state, 1000.0)
    assert out["count"] == 2 and out["mttr_s"] == 40.0
    assert out["mtbf_s"] == (1000.0 - 80.0) / 2
    assert out["availability"] == 1 - 80.0 / 1000.0
    assert [r["jobs_affected"] for r in out["history"]] == [0, 3]  # newest first


def test_an_ongoing_outage_counts_toward_downtime() -> None:
    state = fresh(0.0)
    state["opened_at"] = 900.0
    out = history.summary(state, 1000.0)
    assert out["count"] == 1 and out["mttr_s"] is None
    assert out["availability"] == 0.9 and out["ongoing"]["duration_s"] == 100.0


def test_only_the_last_30_outages_are_kept_and_the_window_moves() -> None:
    state = fresh(0.0)
    for i in range(35):
        history.append(state, i * 100.0, i * 100.0 + 10, 0)
    assert len(state["outages"]) == 30 and state["outages"][0]["start"] == 500.0
    assert state["watched_since"] == 410.0


def test_nothing_measured_is_null_not_invented() -> None:
    out = history.summary(fresh(5.0), 5.0)
    assert (out["count"], out["mttr_s"], out["mtbf_s"], out["availability"]) == (0, None, None,
                                                                                  None)
