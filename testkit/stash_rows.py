"""The rows behind the fake Stash, as Stash's sqlite layer (about v0.30) stores them.

Timestamps are stored as Stash stores them: Go ``time.RFC3339`` to whole seconds in the
server's UTC offset (``...Z`` when it is UTC, else ``+01:00``...). Filters compare that text
(``testkit/stash_query.py``); ``StashStore`` (``testkit/stash_data.py``) owns the rows.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

JsonDict = dict[str, Any]


# --------------------------------------------------------------------------- time


def go_rfc3339(moment: datetime, offset: timedelta) -> str:
    """Format like Go's ``t.Format(time.RFC3339)`` in a zone at ``offset`` (``Z`` for UTC)."""
    local = moment.astimezone(timezone(offset)).replace(microsecond=0)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    total = int(offset.total_seconds())
    if total == 0:
        return text + "Z"
    hours, rest = divmod(abs(total), 3600)
    return f"{text}{'+' if total > 0 else '-'}{hours:02d}:{rest // 60:02d}"


def parse_time(text: str) -> datetime | None:
    """Parse an RFC3339 string (``Z`` or ``+hh:mm``); None when it is not one."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def unix_seconds(text: str) -> int:
    parsed = parse_time(text)
    return int(parsed.timestamp()) if parsed else 0


# --------------------------------------------------------------------------- rows
# Field names match the GraphQL field names, so ``vars(row)`` is most of the object.


@dataclass
class Studio:
    id: int
    name: str
    created_at: str
    updated_at: str
    parent_id: int | None = None
    aliases: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    details: str = ""


@dataclass
class Performer:
    id: int
    name: str
    created_at: str
    updated_at: str
    disambiguation: str = ""
    alias_list: list[str] = field(default_factory=list)
    favorite: bool = False


@dataclass
class Tag:
    id: int
    name: str
    created_at: str
    updated_at: str
    sort_name: str = ""
    description: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class Group:
    id: int
    name: str
    created_at: str
    updated_at: str
    aliases: str = ""
    date: str | None = None
    director: str = ""
    synopsis: str = ""
    urls: list[str] = field(default_factory=list)


@dataclass
class VideoFile:
    id: int
    path: str
    size: int
    duration: float
    created_at: str
    width: int = 1920
    height: int = 1080
    format: str = "mp4"
    video_codec: str = "h264"
    audio_codec: str = "aac"
    frame_rate: float = 29.97
    bit_rate: int = 8_000_000

    @property
    def basename(self) -> str:
        return posixpath.basename(self.path)

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path) or "/"

    @property
    def oshash(self) -> str:
        return hashlib.sha256(f"{self.path}\0{self.size}".encode()).hexdigest()[:16]


@dataclass
class Scene:
    id: int
    created_at: str
    updated_at: str
    title: str = ""
    code: str = ""
    details: str = ""
    director: str = ""
    urls: list[str] = field(default_factory=list)
    date: str | None = None
    rating100: int | None = None
    organized: bool = False
    studio_id: int | None = None
    performer_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    groups: list[tuple[int, int | None]] = field(default_factory=list)  # (group id, index)
    files: list[VideoFile] = field(default_factory=list)  # primary first
    stash_ids: list[JsonDict] = field(default_factory=list)
    cover: bytes | None = None  # None: no cover, Stash serves its placeholder SVG
    cover_version: int = 0
    # Play state (Stash's scenes_view_dates table and resume_time/play_duration columns):
    # play_history holds RFC3339 texts, whole seconds; play_count and last_played_at derive.
    play_history: list[str] = field(default_factory=list)
    resume_time: float = 0.0
    play_duration: float = 0.0

    @property
    def primary_file(self) -> VideoFile | None:
        return self.files[0] if self.files else None
