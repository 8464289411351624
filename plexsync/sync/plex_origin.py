"""Ratings that came from Plex: the sync sends Plex nothing for them (docs/play-state.md).

The play-state import (plexsync/playstate/) sets a scene's `rating100` from the rating a
person gave the item in Plex, and notes it here first (`note`). Stash then runs the plugin's
Scene.Update.Post hook for that edit, and the sync it queues would push the same rating back,
or lock Plex's rating field, which the person did not ask for. So while a scene's `rating100`
still equals the value imported from Plex, the sync leaves the rating out of what it wants
(`without_plex_rating`): no value, no lock, no change of ownership. A later rating edit in
Stash differs from the noted value and syncs as usual.

One JSON file in the data directory, `{scene id: rating100}`, replaced atomically; only the
import writes it. A missing or damaged file means no rating came from Plex.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from plexsync.core import datadir
from plexsync.sync.fields import Wanted

FILE = "plex-ratings.json"


def read(data_dir: str) -> dict[str, int]:
    raw = datadir.read_json(os.path.join(data_dir, FILE), {})
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int)}


def note(data_dir: str, ratings: Mapping[int, int]) -> None:
    """Record that these scenes' `rating100` values now come from Plex (before Stash gets
    them, so the hook's sync already sees the note)."""
    if not ratings:
        return
    path = os.path.join(data_dir, FILE)
    with datadir.locked(path + ".lock"):
        current: dict[str, Any] = read(data_dir)
        current.update({str(k): int(v) for k, v in ratings.items()})
        datadir.write_json(path, current)


def without_plex_rating(want: Wanted, scene: Mapping[str, Any],
                        ratings: Mapping[str, int]) -> Wanted:
    """`want` minus the rating when the scene's rating100 is the one imported from Plex."""
    noted = ratings.get(str(scene.get("id")))
    if noted is None or scene.get("rating100") != noted or "rating" not in want.scalars:
        return want
    scalars = {k: v for k, v in want.scalars.items() if k != "rating"}
    return dataclasses.replace(want, scalars=scalars)
