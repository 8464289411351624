"""The fake Stash's play fields and mutations, as Stash's schema and resolvers have them:
sceneAddPlay adds every time given (no de-duplication), sceneSaveActivity sets the resume
point and adds play duration, and only sceneUpdate fires Scene.Update.Post."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from testkit.fake_stash import FakeStash

ADD = "mutation($id: ID!, $t: [Timestamp!]) { sceneAddPlay(id: $id, times: $t) { count history } }"
SAVE = ("mutation($id: ID!, $r: Float, $d: Float) "
        "{ sceneSaveActivity(id: $id, resume_time: $r, playDuration: $d) }")


@pytest.fixture
def stash() -> Iterator[FakeStash]:
    with FakeStash(clock=lambda: datetime(2026, 5, 1, 12, 0, tzinfo=UTC)) as server:
        yield server


def test_add_play_keeps_every_time_given_and_counts_them(stash: FakeStash) -> None:
    sid = stash.add_scene(title="A")
    out = stash.execute(ADD, {"id": str(sid), "t": ["2026-01-02T03:04:05Z",
                                                    "2026-01-02T03:04:05Z"]})
    assert out["sceneAddPlay"]["count"] == 2          # Stash's AddViews does not de-duplicate
    stash.execute(ADD, {"id": str(sid), "t": None})    # no time: now
    scene = stash.scene(sid)
    assert scene["play_count"] == 3 and scene["last_played_at"] == "2026-05-01T12:00:00Z"
    assert scene["play_history"][0] == "2026-05-01T12:00:00Z"   # newest first


def test_save_activity_sets_the_resume_point_and_adds_duration(stash: FakeStash) -> None:
    sid = stash.add_scene(title="A")
    stash.execute(SAVE, {"id": str(sid), "r": 61.5, "d": 30.0})
    stash.execute(SAVE, {"id": str(sid), "r": None, "d": 10.0})
    scene = stash.scene(sid)
    assert scene["resume_time"] == 61.5 and scene["play_duration"] == 40.0


def test_only_scene_update_fires_the_update_hook(stash: FakeStash) -> None:
    sid = stash.add_scene(title="A")
    fired: list[dict[str, Any]] = []
    stash.on_hook = fired.append
    stash.execute(ADD, {"id": str(sid), "t": ["2026-01-02T03:04:05Z"]})
    stash.execute(SAVE, {"id": str(sid), "r": 5.0, "d": None})
    stash.execute("mutation($i: SceneUpdateInput!) { sceneUpdate(input: $i) { id } }",
                  {"i": {"id": str(sid), "rating100": 80}})
    assert fired == [{"hookContext": {"id": sid, "type": "Scene.Update.Post",
                                      "input": {"id": str(sid), "rating100": 80},
                                      "inputFields": ["id", "rating100"]}}]
