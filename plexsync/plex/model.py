"""What PlexSync reads of Plex, as plain values: no plexapi types past this layer."""

from __future__ import annotations

from typing import NamedTuple


class Candidate(NamedTuple):
    """One file of one Plex item, as the library index holds it."""

    section_id: int
    path: str
    rating_key: int
    size: int           # bytes; 0 when Plex did not say
    duration_ms: int    # 0 when Plex did not say
