"""Hostile Plex answers: what proxies, portals and dying links do to Plex traffic.

Each case bends the fake Plex one way (testkit/plex_hostile.py) while a real drain syncs a
queue. The promises (docs/reliability.md): no job is dead-lettered for a failure that is not
its own; no scene is recorded as synced unless Plex holds its values; once the fault is gone,
every scene syncs.
"""

from __future__ import annotations

from typing import Any

import pytest

from plexsync.errors import ConfigError, PlexSyncError
from plexsync.tasks.status import queue_status
from tests.reliability.conftest import World

pytestmark = pytest.mark.plex_offspec("the fake Plex answers as a hostile proxy on purpose")

SCENES = 6
LISTING = r"/library/sections/\d+/all"
EDIT = r"/library/sections/\d+/all"
METADATA = r"/library/metadata/\d+"
POSTER = r"/library/metadata/\d+/posters"

# (kind, method, path, status, times): `times` None = for as long as the fault lasts.
CASES: list[tuple[str, str, str, int, int | None]] = [
    # redirects to the same server: on reads (followed, harmless) and on writes (refused);
    # to another origin see tests/integration/test_read_redirects.py
    ("redirect", "GET", "/", 302, None),
    ("redirect", "GET", "/library/sections", 301, None),
    ("redirect", "GET", LISTING, 302, None),
    ("redirect", "GET", METADATA, 307, None),
    ("redirect", "PUT", EDIT, 302, None),
    ("redirect", "PUT", EDIT, 308, None),
    ("redirect", "POST", POSTER, 301, None),
    ("redirect", "POST", POSTER, 303, 1),
    # HTML or empty answers with status 200
    ("html", "GET", "/", 200, None),
    ("html", "GET", "/library/sections", 200, None),
    ("html", "GET", LISTING, 200, None),
    ("html", "GET", METADATA, 200, None),
    ("html", "PUT", EDIT, 200, None),
    ("empty", "GET", LISTING, 200, None),
    ("empty", "GET", METADATA, 200, 2),
    # truncated XML
    ("truncate", "GET", "/", 200, None),
    ("truncate", "GET", "/library/sections", 200, None),
    ("truncate", "GET", LISTING, 200, None),
    ("truncate", "GET", METADATA, 200, 1),
    # status bursts
    *[("status", "*", ".*", code, n) for code in (403, 500, 502, 503) for n in (1, 5, 40)],
    ("status", "GET", "/", 403, None),
    ("status", "GET", METADATA, 403, 1),
    ("status", "PUT", EDIT, 500, 2),
    ("status", "PUT", EDIT, 503, 4),
    # connection resets
    ("reset", "*", ".*", 0, 3),
    ("reset", "GET", "/", 0, None),
    ("reset", "PUT", EDIT, 0, 1),
    ("reset", "GET", METADATA, 0, 4),
    # slow answers past the read timeout (read_timeout is 2 s here)
    ("slow", "GET", "/", 0, 1),
    ("slow", "GET", LISTING, 0, 1),
    ("slow", "PUT", EDIT, 0, 1),
]


def _id(case: tuple[str, str, str, int, int | None]) -> str:
    kind, method, path, status, times = case
    return f"{kind}-{status}-{method}-{path.replace(chr(92), '')}-x{times or 'all'}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_a_hostile_answer_never_dead_letters_or_records_a_sync_plex_lacks(
        world: World, case: tuple[str, str, str, int, int | None]) -> None:
    kind, method, path, status, times = case
    world.add(SCENES)
    queue = world.queue()
    try:
        for sid in world.scenes:
            queue.enqueue(sid)
        world.plex.hostile.add(kind, method=method, path=path, status=status,  # type: ignore[arg-type]
                               times=times, seconds=2.5)
        first: dict[str, Any] | Exception = world.drain(queue)
        if isinstance(first, Exception):
            assert isinstance(first, PlexSyncError), repr(first)   # one clear error, no bug
            assert "\n" not in str(first)
            assert not isinstance(first, ConfigError) or "plex_url" in str(first) \
                or "Plex" in str(first)
        world.check_honest(queue)

        world.plex.hostile.clear()   # the proxy is fixed, the link is back
        world.settle(queue)
        world.check_honest(queue)
        after = queue_status(queue)
        assert after["pending"] + after["retrying"] + after["in_progress"] == 0, after
        assert all(world.holds(sid) for sid in world.scenes)
        assert world.plex.hostile.served >= 1
    finally:
        queue.close()
