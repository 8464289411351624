"""timer/wake.py: the wake-up timer gets a credential that outlives the task's session."""

from __future__ import annotations

from pathlib import Path

import pytest

from plexsync.core.context import TaskContext
from plexsync.core.settings import Settings
from plexsync.stash import post as stash_post
from plexsync.stash.api import StashClient
from plexsync.timer import wake
from testkit.fake_stash import FakeStash

KEY = "STASH-API-KEY-9f2"


def context(stash: FakeStash, tmp_path: Path) -> TaskContext:
    conn = stash.server_connection()
    return TaskContext(settings=Settings.from_mapping({}), data_dir=str(tmp_path),
                       stash=StashClient(conn), server_connection=conn)


def test_the_timer_gets_stashs_api_key_so_it_outlives_the_session_cookie(tmp_path: Path) -> None:
    with FakeStash(api_key=KEY, session_cookie="plugin-session") as stash:
        ctx = context(stash, tmp_path)
        conn = wake.timer_connection(ctx)
        assert conn["ApiKey"] == KEY and conn["SessionCookie"]["Value"] == "plugin-session"
        stash.session_cookie = "a-later-session"     # the plugin's cookie has expired
        with pytest.raises(ValueError, match="401"):
            stash_post.request_drain(ctx.server_connection)   # the cookie alone is refused
        stash_post.request_drain(conn)                        # the key still gets through
        assert len(stash.task_runs) == 1


def test_without_an_api_key_the_timer_keeps_the_session_cookie(tmp_path: Path) -> None:
    with FakeStash(api_key="", session_cookie="plugin-session") as stash:
        ctx = context(stash, tmp_path)
        assert wake.timer_connection(ctx) == ctx.server_connection


def test_stash_is_asked_for_its_key_once_per_task_process(tmp_path: Path) -> None:
    with FakeStash(api_key=KEY) as stash:
        ctx = context(stash, tmp_path)
        wake.timer_connection(ctx)
        asked = len(stash.requests)
        assert wake.timer_connection(ctx)["ApiKey"] == KEY
        assert len(stash.requests) == asked


def test_a_stash_that_cannot_answer_leaves_the_timer_with_the_cookie(tmp_path: Path) -> None:
    with FakeStash(api_key=KEY) as stash:
        ctx = context(stash, tmp_path)
    assert wake.timer_connection(ctx) == ctx.server_connection   # Stash is gone now
