"""The store behind the fake Stash (testkit/fake_stash.py): its rows and the tests' setup API.

``StashStore`` holds the rows of ``testkit/stash_rows.py``: scenes, video files, studios,
performers, tags and groups. It has the tests' setup API (``add_scene``, ``update_scene``, ...)
and turns rows into the objects that GraphQL resolvers return. ``findScenes`` semantics
(filters, search, sorting, paging) live in ``testkit/stash_query.py``; this module re-exports
the names of both, so ``testkit.stash_data`` stays the one import for the data layer.
Nothing here does HTTP or GraphQL.

- Timestamps are stored as Stash stores them (Go RFC3339 text, whole seconds, the server's
  UTC offset). Simplified: ``updated_at`` moves at least 1 s per edit; Stash can repeat one.
- ``add_scene`` gives each scene a generated JPEG cover whose bytes are unique per scene and
  cover version. A scene without a cover serves Stash's placeholder SVG. The ``cover_image``
  input takes data URLs only (Stash also fetches plain URLs).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import struct
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from testkit.stash_query import (
    SORT_KEYS,
    FilterError,
    SceneQueryResult,
    query_scenes,
    scene_matches,
    sort_scenes,
)
from testkit.stash_rows import (
    Group,
    JsonDict,
    Performer,
    Scene,
    Studio,
    Tag,
    VideoFile,
    go_rfc3339,
    parse_time,
    unix_seconds,
)

__all__ = [
    "PLACEHOLDER_SVG", "SORT_KEYS", "FilterError", "Group", "JsonDict", "Performer", "Scene",
    "SceneQueryResult", "StashStore", "Studio", "Tag", "VideoFile", "decode_data_url",
    "go_rfc3339", "image_content_type", "make_cover_jpeg", "parse_time", "plugin_args_to_map",
    "query_scenes", "scene_matches", "sort_scenes", "to_int", "unix_seconds",
]


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

    def clean_and_scan(self, scene_id: int) -> int:
        """Stash's Clean task deletes the scene (its drive was offline), then a Scan finds its
        files again and creates a new scene for them: a new id, the same files (new file ids),
        no metadata but what a scan sets. Returns the new scene's id."""
        with self._lock:
            old = self._scenes.pop(scene_id)
            new_id = self._new_id("scene")
            now = self.now_text()
            scene = Scene(id=new_id, created_at=now, updated_at=now)
            self._set_files(scene, [{"path": f.path, "size": f.size, "duration": f.duration}
                                    for f in old.files])
            scene.cover = make_cover_jpeg(new_id, 0)
            self._scenes[new_id] = scene
            return new_id

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
            "play_history": sorted(s.play_history, key=unix_seconds, reverse=True),
            "play_count": len(s.play_history),
            "last_played_at": max(s.play_history, key=unix_seconds) if s.play_history else None,
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
