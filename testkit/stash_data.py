"""Data model, store and query semantics behind the fake Stash (testkit/fake_stash.py).

``StashStore`` holds the rows: scenes, video files, studios, performers, tags and groups.
It has the tests' setup API (``add_scene``, ``update_scene``, ...) and turns rows into the
objects that GraphQL resolvers return. ``query_scenes`` implements ``findScenes``:
``SceneFilterType`` criteria, ``FindFilterType`` paging and sorting, and ``ids``/``scene_ids``.
Nothing in this module does HTTP or GraphQL. It follows Stash's sqlite layer (about v0.30):

- Timestamps are stored as Stash stores them: Go ``time.RFC3339`` to whole seconds in the
  server's UTC offset (``...Z`` when it is UTC, else ``+01:00``...). ``TimestampCriterionInput``
  compares that text as Stash's SQL does (``scenes.updated_at > ?``). BETWEEN without
  ``value2`` runs up to now + 1 day.
- String EQUALS/NOT_EQUALS are SQL ``LIKE`` with no escaping: ``%``/``_`` are wildcards,
  and ASCII case is ignored. INCLUDES/EXCLUDES match each word as a substring.
  IS_NULL/NOT_NULL treat "" as null. An empty text column is NULL in Stash, so it never
  matches EQUALS or INCLUDES.
- ``per_page`` -1 means all rows, 0 means only the count, and the default is 25. A ``page``
  below 1 counts as 1. ``count`` is the total before paging. With ``ids``, filter and paging
  are ignored, and an unknown id is an error.

Simplified: the title sort is case-insensitive, not natural. Ties are broken by id. ``q``
matches each word against title, details, code and file paths. Modifiers that Stash rejects
raise ``FilterError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import re
import struct
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

JsonDict = dict[str, Any]


class FilterError(Exception):
    """A query Stash would reject; it becomes a GraphQL error on the request."""


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

    @property
    def primary_file(self) -> VideoFile | None:
        return self.files[0] if self.files else None


# --------------------------------------------------------------------------- images


def make_cover_jpeg(scene_id: int, version: int) -> bytes:
    """A tiny, structurally valid baseline JPEG (8x8 grey). Its COM segment makes the bytes,
    and so their hash, unique per scene and cover version."""
    comment = f"fake-stash scene {scene_id} cover {version}".encode()
    one_code = bytes([1] + [0] * 15) + b"\x00"  # Huffman table: one 1-bit code -> symbol 0
    return b"".join(
        [
            b"\xff\xd8",  # SOI
            b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment,  # COM
            b"\xff\xdb\x00\x43\x00" + bytes([1] * 64),  # DQT
            b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00",  # SOF0 8x8 grey
            b"\xff\xc4\x00\x14\x00" + one_code,  # DHT DC 0: category 0
            b"\xff\xc4\x00\x14\x10" + one_code,  # DHT AC 0: EOB
            b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",  # SOS
            b"\x3f",  # DC diff 0, EOB, 1-bit padding
            b"\xff\xd9",  # EOI
        ]
    )


PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 9">'
    b'<rect width="16" height="9" fill="#30404d"/></svg>'
)


def image_content_type(data: bytes) -> str:
    """Like Go's http.DetectContentType, with Stash's fix-up that calls SVG text image/svg+xml."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.lstrip()[:1] == b"<":
        return "image/svg+xml"
    return "application/octet-stream"


def decode_data_url(text: str) -> bytes:
    """``cover_image`` input: Stash takes a URL or a data URL; the fake takes data URLs."""
    header, sep, payload = text.partition(",")
    if not (text.startswith("data:") and sep):
        raise ValueError("cover_image: the fake accepts only data: URLs")
    if not header.endswith(";base64"):
        return urllib.parse.unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error as err:
        raise ValueError(f"invalid cover image: {err}") from err


# --------------------------------------------------------------------------- store


class StashStore:
    """The rows and the test-facing setup API; every method is thread-safe."""

    def __init__(self, utc_offset: timedelta, clock: Callable[[], datetime] | None) -> None:
        self.utc_offset = utc_offset
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._studios: dict[int, Studio] = {}
        self._performers: dict[int, Performer] = {}
        self._tags: dict[int, Tag] = {}
        self._groups: dict[int, Group] = {}
        self._scenes: dict[int, Scene] = {}
        self._folders: dict[str, int] = {}
        self._next_id: dict[str, int] = {}

    def _new_id(self, kind: str) -> int:
        self._next_id[kind] = self._next_id.get(kind, 0) + 1
        return self._next_id[kind]

    def now_text(self) -> str:
        """Now, as Stash would store and return it."""
        return go_rfc3339(self.clock(), self.utc_offset)

    def _time_text(self, value: str | datetime | None) -> str:
        if value is None:
            return self.now_text()
        return value if isinstance(value, str) else go_rfc3339(value, self.utc_offset)

    def add_studio(self, name: str, *, parent_id: int | None = None) -> int:
        with self._lock:
            now, new_id = self.now_text(), self._new_id("studio")
            self._studios[new_id] = Studio(new_id, name, now, now, parent_id=parent_id)
            return new_id

    def add_performer(self, name: str, *, disambiguation: str = "") -> int:
        with self._lock:
            now, new_id = self.now_text(), self._new_id("performer")
            self._performers[new_id] = Performer(new_id, name, now, now, disambiguation)
            return new_id

    def add_tag(self, name: str) -> int:
        with self._lock:
            now, new_id = self.now_text(), self._new_id("tag")
            self._tags[new_id] = Tag(new_id, name, now, now)
            return new_id

    def add_group(self, name: str) -> int:
        with self._lock:
            now, new_id = self.now_text(), self._new_id("group")
            self._groups[new_id] = Group(new_id, name, now, now)
            return new_id

    def add_scene(
        self,
        *,
        title: str = "",
        details: str = "",
        date: str | None = None,
        rating100: int | None = None,
        studio_id: int | None = None,
        performer_ids: Iterable[int] = (),
        tag_ids: Iterable[int] = (),
        group_ids: Iterable[int] = (),
        director: str = "",
        code: str = "",
        files: Iterable[Mapping[str, Any]] = (),
        created_at: str | datetime | None = None,
        updated_at: str | datetime | None = None,
        urls: Iterable[str] = (),
        organized: bool = False,
    ) -> int:
        """Add a scene with a generated cover. ``files``: ``{"path", "size", "duration"}``
        dicts (optional width, height, video_codec, audio_codec), primary first."""
        with self._lock:
            scene_id = self._new_id("scene")
            created = self._time_text(created_at)
            scene = Scene(id=scene_id, created_at=created, updated_at=created)
            self._apply(
                scene,
                {
                    "title": title, "details": details, "date": date, "rating100": rating100,
                    "studio_id": studio_id, "performer_ids": performer_ids,
                    "tag_ids": tag_ids, "group_ids": group_ids, "director": director,
                    "code": code, "files": files, "urls": urls, "organized": organized,
                },
            )  # fmt: skip
            scene.updated_at = self._time_text(updated_at) if updated_at else created
            scene.cover = make_cover_jpeg(scene_id, 0)
            self._scenes[scene_id] = scene
            return scene_id

    def update_scene(self, scene_id: int, **changes: Any) -> None:
        """Edit a scene like a user would (the add_scene keywords, plus ``groups`` and
        ``stash_ids``). updated_at moves to now unless ``updated_at=`` is given."""
        with self._lock:
            scene = self._scenes[scene_id]
            explicit = changes.pop("updated_at", None)
            if "created_at" in changes:
                scene.created_at = self._time_text(changes.pop("created_at"))
            self._apply(scene, changes)
            if explicit is not None:
                scene.updated_at = self._time_text(explicit)
            else:
                self._touch(scene)

    def delete_scene(self, scene_id: int) -> None:
        with self._lock:
            del self._scenes[scene_id]

    def scene_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._scenes)

    def set_screenshot(self, scene_id: int, data: bytes) -> None:
        """Replace the cover. updated_at moves, and with it paths.screenshot's ``?t=``."""
        with self._lock:
            scene = self._scenes[scene_id]
            scene.cover, scene.cover_version = bytes(data), scene.cover_version + 1
            self._touch(scene)

    def remove_screenshot(self, scene_id: int) -> None:
        """No cover at all: the endpoint then serves Stash's placeholder SVG."""
        with self._lock:
            scene = self._scenes[scene_id]
            scene.cover, scene.cover_version = None, scene.cover_version + 1
            self._touch(scene)

    def screenshot_bytes(self, scene_id: int) -> bytes:
        """What GET /scene/<id>/screenshot serves now."""
        with self._lock:
            cover = self._scenes[scene_id].cover
            return PLACEHOLDER_SVG if cover is None else cover

    def _touch(self, scene: Scene) -> None:
        """updated_at = now, but always later than before (Stash stores whole seconds)."""
        now = self.clock()
        previous = parse_time(scene.updated_at)
        if previous is not None and now < previous + timedelta(seconds=1):
            now = previous + timedelta(seconds=1)
        scene.updated_at = go_rfc3339(now, self.utc_offset)

    def _apply(self, scene: Scene, changes: Mapping[str, Any]) -> None:
        for key, value in changes.items():
            if key in ("title", "details", "director", "code"):
                setattr(scene, key, value or "")
            elif key in ("date", "rating100"):
                setattr(scene, key, None if value in ("", None) else value)
            elif key == "organized":
                scene.organized = bool(value)
            elif key == "urls":
                scene.urls = list(value or [])
            elif key == "studio_id":
                scene.studio_id = _ref(self._studios, value, "studio") if value else None
            elif key == "performer_ids":
                scene.performer_ids = [_ref(self._performers, v, "performer") for v in value]
            elif key == "tag_ids":
                scene.tag_ids = [_ref(self._tags, v, "tag") for v in value]
            elif key == "group_ids":
                scene.groups = [(_ref(self._groups, v, "group"), None) for v in value]
            elif key == "groups":
                scene.groups = [
                    (_ref(self._groups, g["group_id"], "group"), g.get("scene_index"))
                    for g in value
                ]
            elif key == "files":
                self._set_files(scene, value)
            elif key == "stash_ids":
                scene.stash_ids = [dict(s) for s in value]
            else:
                raise TypeError(f"unknown scene field {key!r}")

    def _set_files(self, scene: Scene, specs: Iterable[Mapping[str, Any]]) -> None:
        known = {f.path: f for f in scene.files}
        files = []
        for spec in specs:
            path = str(spec["path"])
            old = known.get(path)
            files.append(
                VideoFile(
                    id=old.id if old else self._new_id("file"),
                    path=path,
                    size=int(spec.get("size", 1_000_000)),
                    duration=float(spec.get("duration", 600.0)),
                    created_at=old.created_at if old else self.now_text(),
                    format=posixpath.splitext(path)[1].lstrip(".").lower() or "mp4",
                    **{k: spec[k] for k in ("width", "height", "video_codec", "audio_codec")
                       if k in spec},
                )
            )  # fmt: skip
        scene.files = files

    # ------------------------------------------------------------------ GraphQL objects
    # Plain dicts for graphql-core's default resolver; a callable value is called with
    # (info, **field_args).

    def scene_obj(self, s: Scene, base_url: str) -> JsonDict:
        base = f"{base_url}/scene/{s.id}"
        studio = self._studios.get(s.studio_id) if s.studio_id else None
        return {
            **vars(s),
            "urls": list(s.urls),
            "files": [self._file_obj(f) for f in s.files],
            "paths": {
                "screenshot": f"{base}/screenshot?t={unix_seconds(s.updated_at)}",
                "preview": f"{base}/preview", "stream": f"{base}/stream",
                "webp": f"{base}/webp", "vtt": f"{base}_thumbs.vtt",
                "sprite": f"{base}_sprite.jpg", "funscript": f"{base}/funscript",
                "interactive_heatmap": f"{base}/interactive_heatmap",
                "caption": f"{base}/caption",
            },
            "studio": self._studio_obj(studio, base_url) if studio else None,
            "groups": [
                {"group": self._group_obj(self._groups[g], base_url), "scene_index": index}
                for g, index in s.groups if g in self._groups
            ],
            "tags": [
                {**vars(self._tags[t]), "image_path": f"{base_url}/tag/{t}/image"}
                for t in s.tag_ids if t in self._tags
            ],
            "performers": [
                {**vars(self._performers[p]), "image_path": f"{base_url}/performer/{p}/image"}
                for p in s.performer_ids if p in self._performers
            ],
        }  # fmt: skip

    def _file_obj(self, f: VideoFile) -> JsonDict:
        prints = {"oshash": f.oshash}
        return {
            **vars(f),
            "basename": f.basename,
            "parent_folder": self._folder_obj(f.folder, f.created_at),
            "mod_time": f.created_at,
            "updated_at": f.created_at,
            "fingerprints": [{"type": k, "value": v} for k, v in prints.items()],
            "fingerprint": lambda _info, type: prints.get(type),
        }

    def _folder_obj(self, path: str, stamp: str) -> JsonDict:
        folder_id = self._folders.setdefault(path, len(self._folders) + 1)
        parent = posixpath.dirname(path)
        return {
            "id": folder_id, "path": path, "mod_time": stamp, "created_at": stamp,
            "updated_at": stamp,
            "parent_folder": (
                (lambda _info: self._folder_obj(parent, stamp)) if path != parent else None
            ),
        }  # fmt: skip

    def _studio_obj(self, st: Studio, base_url: str) -> JsonDict:
        parent = self._studios.get(st.parent_id) if st.parent_id else None
        return {
            **vars(st),
            "image_path": f"{base_url}/studio/{st.id}/image",
            "parent_studio": (lambda _info: self._studio_obj(parent, base_url)) if parent else None,
        }

    def _group_obj(self, g: Group, base_url: str) -> JsonDict:
        return {**vars(g), "front_image_path": f"{base_url}/group/{g.id}/frontimage"}


def _ref(table: Mapping[int, Any], value: Any, kind: str) -> int:
    ref = to_int(value)
    if ref not in table:
        raise ValueError(f"{kind} with id {ref} not found")
    return ref


def to_int(value: Any) -> int:
    """An ID argument as Stash parses it (strconv.Atoi), with Stash's error text."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f'strconv.Atoi: parsing "{value}": invalid syntax') from None


# --------------------------------------------------------------------------- criteria

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _like(value: str, pattern: str) -> bool:
    """SQLite LIKE without ESCAPE: % and _ are wildcards, ASCII case-insensitive."""
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        for ch in pattern.translate(_ASCII_LOWER)
    )
    return re.fullmatch(regex, value.translate(_ASCII_LOWER), re.DOTALL) is not None


def _search_words(text: str) -> list[str]:
    """Split like Stash's search strings: quoted phrases stay whole."""
    return [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', text) if a or b]


def _string_match(value: str | None, crit: Mapping[str, Any]) -> bool:
    modifier, wanted = str(crit["modifier"]), str(crit["value"])
    if modifier == "IS_NULL":
        return value is None or value.strip() == ""
    if modifier == "NOT_NULL":
        return value is not None and value.strip() != ""
    if not value:  # NULL in SQL: only the explicitly null-tolerant clauses match
        return modifier in ("EXCLUDES", "NOT_MATCHES_REGEX")
    checks: dict[str, Callable[[str], bool]] = {
        "EQUALS": lambda v: _like(v, wanted),
        "NOT_EQUALS": lambda v: not _like(v, wanted),
        "INCLUDES": lambda v: all(_like(v, f"%{w}%") for w in _search_words(wanted)),
        "EXCLUDES": lambda v: not any(_like(v, f"%{w}%") for w in _search_words(wanted)),
        "MATCHES_REGEX": lambda v: re.search(wanted, v) is not None,
        "NOT_MATCHES_REGEX": lambda v: re.search(wanted, v) is None,
    }
    if modifier not in checks:
        raise FilterError(f"unsupported string filter modifier: {modifier}")
    return checks[modifier](value)


def _compare(value: Any, crit: Mapping[str, Any], upper_default: Any, kind: str) -> bool:
    """Int, date and timestamp criteria: SQL comparisons (text for date/timestamp)."""
    modifier, low = str(crit["modifier"]), crit["value"]
    high = upper_default if crit.get("value2") is None else crit["value2"]
    if modifier == "IS_NULL":
        return value is None or value == ""
    if modifier == "NOT_NULL":
        return value is not None and value != ""
    if value is None:
        return False
    checks: dict[str, Callable[[Any], bool]] = {
        "EQUALS": lambda v: bool(v == low),
        "NOT_EQUALS": lambda v: bool(v != low),
        "GREATER_THAN": lambda v: bool(v > low),
        "LESS_THAN": lambda v: bool(v < low),
        "BETWEEN": lambda v: bool(low <= v <= high),
        "NOT_BETWEEN": lambda v: not low <= v <= high,
    }
    if modifier not in checks:
        raise FilterError(f"unsupported {kind} modifier type {modifier}")
    return checks[modifier](value)


def scene_matches(scene: Scene, scene_filter: Mapping[str, Any] | None, upper: str) -> bool:
    """Evaluate a SceneFilterType; AND/OR/NOT combine a sub-filter with the own criteria.
    ``upper`` is Stash's BETWEEN default (now + 1 day, as text)."""
    if not scene_filter:
        return True
    operators = [op for op in ("AND", "OR", "NOT") if scene_filter.get(op) is not None]
    if len(operators) > 1:
        raise FilterError("AND, OR and NOT filters are mutually exclusive")
    own = _own_criteria(scene, scene_filter, upper)
    if not operators:
        return own is not False
    sub = scene_matches(scene, scene_filter[operators[0]], upper)
    if operators[0] == "AND":
        return own is not False and sub
    if operators[0] == "OR":
        return sub if own is None else own or sub
    return own is not False and not sub


def _own_criteria(scene: Scene, f: Mapping[str, Any], upper: str) -> bool | None:
    """The filter's own criteria, ANDed; None when it has none."""
    getters: dict[str, Callable[[Mapping[str, Any]], bool]] = {
        "id": lambda c: _compare(scene.id, c, 0, "int"),
        "title": lambda c: _string_match(scene.title, c),
        "code": lambda c: _string_match(scene.code, c),
        "details": lambda c: _string_match(scene.details, c),
        "director": lambda c: _string_match(scene.director, c),
        "path": lambda c: _path_match(scene, c),
        "file_count": lambda c: _compare(len(scene.files), c, 0, "int"),
        "rating100": lambda c: _compare(scene.rating100, c, 0, "int"),
        "date": lambda c: _compare(scene.date, c, upper, "date"),
        "created_at": lambda c: _compare(scene.created_at, c, upper, "date"),
        "updated_at": lambda c: _compare(scene.updated_at, c, upper, "date"),
    }
    results = [check(f[key]) for key, check in getters.items() if f.get(key) is not None]
    if f.get("organized") is not None:
        results.append(scene.organized == bool(f["organized"]))
    return all(results) if results else None


def _path_match(scene: Scene, crit: Mapping[str, Any]) -> bool:
    """Stash joins files: a scene matches when one of its files does. INCLUDES/EXCLUDES
    take the whole value as one substring of the path."""
    modifier = crit["modifier"]
    if modifier in ("IS_NULL", "NOT_NULL"):
        return bool((not scene.files) == (modifier == "IS_NULL"))
    if modifier in ("INCLUDES", "EXCLUDES"):
        hit = [_like(f.path, f"%{crit['value']}%") for f in scene.files]
        return any(hit) if modifier == "INCLUDES" else not all(hit)
    return any(_string_match(f.path, crit) for f in scene.files)


def _search_match(scene: Scene, q: str) -> bool:
    fields = [scene.title, scene.details, scene.code, *(f.path for f in scene.files)]
    return all(any(_like(h, f"%{w}%") for h in fields if h) for w in _search_words(q))


# --------------------------------------------------------------------------- sort/page

SORT_KEYS: dict[str, Callable[[Scene], Any]] = {
    "id": lambda s: s.id,
    "title": lambda s: (s.title or (s.primary_file.basename if s.primary_file else "")).casefold(),
    "path": lambda s: s.primary_file.path if s.primary_file else None,
    "date": lambda s: s.date,
    "rating": lambda s: s.rating100,
    "created_at": lambda s: s.created_at,
    "updated_at": lambda s: s.updated_at,
    "duration": lambda s: s.primary_file.duration if s.primary_file else None,
    "filesize": lambda s: s.primary_file.size if s.primary_file else None,
}


def sort_scenes(scenes: Iterable[Scene], sort: str | None, direction: str | None) -> list[Scene]:
    """ORDER BY ``sort`` (NULLs first ASC, last DESC, as SQLite), ties by ascending id."""
    by_id = sorted(scenes, key=lambda s: s.id)
    if not sort:
        return by_id  # Stash adds no ORDER BY: rows come back in id order
    if sort not in SORT_KEYS:
        raise FilterError(f"invalid sort: {sort}")
    key, descending = SORT_KEYS[sort], direction == "DESC"
    buckets: dict[Any, list[Scene]] = {}
    for scene in by_id:
        buckets.setdefault(key(scene), []).append(scene)
    nulls = buckets.pop(None, [])
    ordered = [s for value in sorted(buckets, reverse=descending) for s in buckets[value]]
    return ordered + nulls if descending else nulls + ordered


@dataclass
class SceneQueryResult:
    count: int
    duration: float
    filesize: float
    scenes: list[Scene]


def query_scenes(
    all_scenes: Mapping[int, Scene],
    scene_filter: Mapping[str, Any] | None,
    find_filter: Mapping[str, Any] | None,
    ids: Iterable[int] | None,
    upper: str,
) -> SceneQueryResult:
    """findScenes. Totals (duration, filesize) sum the primary files of all matches."""
    id_list = list(ids or [])
    if id_list:
        missing = [i for i in id_list if i not in all_scenes]
        if missing:
            raise FilterError(f"scene with id {missing[0]} not found")
        rows = [all_scenes[i] for i in id_list]
        return SceneQueryResult(len(rows), _duration(rows), _size(rows), rows)
    ff = find_filter or {}
    matched = [s for s in all_scenes.values() if scene_matches(s, scene_filter, upper)]
    if ff.get("q"):
        matched = [s for s in matched if _search_match(s, str(ff["q"]))]
    ordered = sort_scenes(matched, ff.get("sort"), ff.get("direction"))
    per_page: int = 25 if ff.get("per_page") is None else int(ff["per_page"])
    page: int = max(int(ff.get("page") or 1), 1)
    rows = ordered if per_page < 0 else ordered[(page - 1) * per_page : page * per_page]
    return SceneQueryResult(len(ordered), _duration(ordered), _size(ordered), rows)


def _duration(scenes: Iterable[Scene]) -> float:
    return float(sum(s.primary_file.duration for s in scenes if s.primary_file))


def _size(scenes: Iterable[Scene]) -> float:
    return float(sum(s.primary_file.size for s in scenes if s.primary_file))


# --------------------------------------------------------------------------- plugins


def plugin_args_to_map(args: Iterable[Mapping[str, Any]]) -> JsonDict:
    """Stash's toPluginArgs: the deprecated ``[PluginArgInput]`` list as a map."""
    return {a["key"]: _plugin_value(a.get("value")) for a in args}


def _plugin_value(value: Mapping[str, Any] | None) -> Any:
    if value is None:
        return None
    for key in ("str", "i", "b", "f"):
        if value.get(key) is not None:
            return value[key]
    if value.get("o") is not None:
        return plugin_args_to_map(value["o"])
    if value.get("a") is not None:
        return [_plugin_value(v) for v in value["a"]]
    return None
