"""When the automatic play-state import is due (plexsync/playstate/schedule.py) and what the
status shows of it (plexsync/playstate/status.py)."""

from __future__ import annotations

import json

from plexsync.playstate import schedule, status
from plexsync.timer.state import IMPORT_DUE_KEY


def test_an_import_is_never_due_while_the_setting_is_off() -> None:
    assert schedule.due(False, None, 1000.0) == schedule.Due(False, None)


def test_the_first_import_is_due_at_once_and_the_next_fifteen_minutes_after_an_attempt() -> None:
    assert schedule.due(True, None, 1000.0).now
    assert schedule.due(True, 1000.0, 1000.0 + 899) == schedule.Due(False, 1900.0)
    assert schedule.due(True, 1000.0, 1900.0).now


def test_a_damaged_mark_reads_as_no_mark() -> None:
    assert schedule.high_water({schedule.VIEWED_KEY: "junk"}, schedule.VIEWED_KEY) == 0
    assert schedule.high_water({}, schedule.VIEWED_KEY) == 0


def test_the_status_block_shows_the_last_import_and_the_next() -> None:
    meta = {schedule.LAST_KEY: json.dumps({"started_at": 0, "plays": 3, "resume_points": 1,
                                           "ratings": 2, "scenes": 4}),
            IMPORT_DUE_KEY: "900.0"}
    block = status.status_block(meta)
    assert block == {"last_run_at": "1970-01-01T00:00:00Z", "plays": 3, "resume_points": 1,
                     "ratings": 2, "scenes": 4, "next_run_at": "1970-01-01T00:15:00Z"}
    assert status.status_line(block).endswith("; next at 1970-01-01T00:15:00Z.")


def test_without_an_import_the_status_says_none_and_not_scheduled() -> None:
    block = status.status_block({schedule.LAST_KEY: "{broken"})
    assert block["last_run_at"] is None and block["plays"] == 0
    assert status.status_line(block) == ("Play-state import: none yet; not scheduled "
                                         "(import_play_state off).")
