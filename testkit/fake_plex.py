"""A loopback fake Plex Media Server, driven by tests through the real plexapi client.

The contract is ``/work/shared/notes/plexapi-wire.md`` (what plexapi 4.18 sends and reads) and
SPEC §11. The fake is strict where real PMS is strict, so a plugin that sends junk fails in tests.

Faithful:
- Auth: ``X-Plex-Token`` header or ``?X-Plex-Token=``; a missing or wrong token gets 401 with a
  small HTML body (plexapi raises ``Unauthorized``).
- ``GET /``, ``/identity``, ``/library``, ``/library/sections`` with the attributes plexapi reads.
- ``GET /library/sections/{id}/all`` (and ``/library/all``): paging from the
  ``X-Plex-Container-Start``/``-Size`` headers or the same query params, ``size``/``totalSize``/
  ``offset``, ``type=`` filter, ``title=`` (case-insensitive contains), ``titleSort`` order.
  ``<Media><Part file size duration/></Media>`` is nested as real PMS does. List views carry only
  the first ``list_tag_limit`` tags of each kind (python-plexapi #713) and no ``<Field>``.
- ``GET /library/metadata/{rk}[,rk…]``: full tags, ``<Field name locked="1"/>`` per lock,
  ``librarySectionID`` on container and Video; unknown → 404.
- ``PUT /library/sections/{id}/all``: the edit contract. Keys are URL-decoded; ``type`` and ``id``
  are required (400); every id must exist and be in that section (404); ``type`` must match the
  section. ``f.value`` sets (``''`` clears), ``f.locked=0|1`` (also tag kinds, ``thumb``, ``art``),
  ``tag[i].tag.tag`` *replaces* that kind's list, ``tag[].tag.tag-=a,b`` removes (each value
  quoted, then comma-joined). Adds apply before removes. Unknown keys, bad values, duplicate keys
  → 400, and nothing is applied (the whole request is validated first).
- ``PUT /:/rate``, ``POST /library/metadata/{rk}/posters|arts`` (raw body or ``?url=``),
  ``GET /library/sections/{id}/refresh[?path=]`` (empty 200 body).
- HTTP/1.1 keep-alive, like PMS; ``go_down`` really closes the listening socket and drops open
  connections, so clients get ``ConnectionError``; ``come_up`` listens on the same port.

Simplified (deliberately):
- Movie items only (``type="movie"``); other section types exist but hold no items. No
  seasons/episodes, hubs, playlists, collections objects (``/collections`` lists none), streams.
- No server-side filter ``<Meta>``: plexapi's filter validation (``search(genre=…)``, ``sort=``)
  raises ``NotFound`` on the client instead of filtering. Other unknown GET params are ignored,
  as PMS ignores them.
- A refresh is applied synchronously (staged files become items before the 200 is sent);
  ``force=1`` metadata refresh does nothing (no agents).
- Tag names match exactly (case-sensitive) for removal and de-duplication; an empty title is
  refused with 400 (PMS behaviour unverified; the plugin must never send one).
- Each file of an item is one ``<Media>`` with one ``<Part>`` (versions, not stacked parts).
- Uploads accept any non-empty body (no image validation); uploading does not lock the poster.
- Error pages carry a ``<p>`` with the reason (PMS sends a bare page) to make test failures clear.
"""

from __future__ import annotations

import contextlib
import copy
import posixpath
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from testkit import plex_xml

TAG_KINDS: tuple[str, ...] = (
    "genre", "label", "actor", "collection", "director", "writer", "producer", "country",
)
SECTION_TYPES: dict[str, int] = {"movie": 1, "show": 2, "artist": 8, "photo": 13}
_AGENTS: dict[str, tuple[str, str]] = {
    "movie": ("tv.plex.agents.none", "Plex Video Files Scanner"),
    "show": ("tv.plex.agents.none", "Plex Series Scanner"),
    "artist": ("tv.plex.agents.none", "Plex Music"),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner"),
}
# Editable field (wire name) → (ItemState attribute, value kind).
_FIELDS: dict[str, tuple[str, str]] = {
    "title": ("title", "title"),
    "titleSort": ("title_sort", "text"),
    "summary": ("summary", "text"),
    "studio": ("studio", "text"),
    "tagline": ("tagline", "text"),
    "contentRating": ("content_rating", "text"),
    "originalTitle": ("original_title", "text"),
    "editionTitle": ("edition_title", "text"),
    "originallyAvailableAt": ("originally_available_at", "date"),
    "userRating": ("user_rating", "rating"),
    "rating": ("critic_rating", "rating"),
    "audienceRating": ("audience_rating", "rating"),
    "addedAt": ("added_at", "timestamp"),
}
LOCKABLE: frozenset[str] = frozenset(_FIELDS) | frozenset(TAG_KINDS) | {"thumb", "art"}
_TAG_KEY = re.compile(r"([A-Za-z]+)\[(\d*)\]\.tag\.tag(-?)")
_TAGGING_KEY = re.compile(r"actor\[(\d+)\]\.tagging\.text")
_FIELD_KEY = re.compile(r"([A-Za-z]+)\.(value|locked)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2})?")
_XML = "text/xml;charset=utf-8"
_HTML = "text/html"


@dataclass
class ItemState:
    """One movie as the fake holds it (``FakePlex.item`` returns a deep copy)."""

    rating_key: int
    section_id: int
    title: str
    title_sort: str | None = None
    summary: str | None = None
    studio: str | None = None
    tagline: str | None = None
    content_rating: str | None = None
    original_title: str | None = None
    edition_title: str | None = None
    originally_available_at: str | None = None  # "YYYY-MM-DD"
    year: int | None = None
    user_rating: float | None = None
    critic_rating: float | None = None  # wire field "rating"
    audience_rating: float | None = None
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (path, size, duration_ms)
    tags: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in TAG_KINDS})
    roles: dict[str, str] = field(default_factory=dict)  # actor name → character name
    locked: set[str] = field(default_factory=set)  # wire field names: "title", "genre", "thumb"
    poster: bytes | None = None
    poster_url: str | None = None
    art: bytes | None = None
    art_url: str | None = None
    added_at: int = 0
    updated_at: int = 0


@dataclass
class SectionState:
    section_id: int
    title: str
    type: str
    locations: list[str]
    agent: str
    scanner: str
    uuid: str
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # URL-decoded path, no query string
    query: dict[str, str]  # URL-decoded keys and values (last one wins on repeats)
    headers: dict[str, str]
    body_len: int
    status: int


@dataclass
class _Request:
    method: str
    path: str
    pairs: list[tuple[str, str]]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    content_type: str = _XML
    headers: dict[str, str] = field(default_factory=dict)


class _HTTPError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class _EditPlan:
    values: dict[str, Any] = field(default_factory=dict)  # ItemState attribute → new value
    locks: dict[str, bool] = field(default_factory=dict)
    replace: dict[str, list[str]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=dict)
    characters: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.values or self.locks or self.replace or self.remove)


Route = Callable[[re.Match[str], _Request], _Response]


class FakePlex:
    """The fake server. Use as ``with FakePlex() as plex:`` or ``start()``/``stop()``."""

    def __init__(self, token: str = "test-token", list_tag_limit: int = 3,
                 page_size_default: int = 100) -> None:
        self.token = token
        self.list_tag_limit = list_tag_limit
        self.page_size_default = page_size_default  # page size when a GET names none
        self._lock = threading.RLock()
        self._sections: dict[int, SectionState] = {}
        self._items: dict[int, ItemState] = {}
        self._staged: list[tuple[int, str, dict[str, Any]]] = []
        self._refreshes: list[tuple[int, str | None]] = []
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._requests: list[RequestRecord] = []
        self._faults: deque[int] = deque()
        self._delay = 0.0
        self._next_rk = 1
        self._port = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._wake = threading.Event()
        self._created = int(time.time())
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("GET", re.compile(r"/"), self._root),
            ("GET", re.compile(r"/identity"), self._identity),
            ("GET", re.compile(r"/library"), self._library),
            ("GET", re.compile(r"/library/sections"), self._sections_list),
            ("GET", re.compile(r"/library/sections/(\d+)/all"), self._section_all),
            ("PUT", re.compile(r"/library/sections/(\d+)/all"), self._edit),
            ("GET", re.compile(r"/library/sections/(\d+)/collections"), self._collections),
            ("GET", re.compile(r"/library/sections/(\d+)/refresh"), self._refresh),
            ("DELETE", re.compile(r"/library/sections/(\d+)/refresh"), self._cancel_refresh),
            ("GET", re.compile(r"/library/all"), self._library_all),
            ("GET", re.compile(r"/library/metadata/(\d+(?:,\d+)*)"), self._metadata),
            ("GET", re.compile(r"/library/metadata/(\d+)/(posters|arts)"), self._image_list),
            ("POST", re.compile(r"/library/metadata/(\d+)/(posters|arts)"), self._upload),
            ("GET", re.compile(r"/library/metadata/(\d+)/(thumb|art)(?:/\d+)?"), self._image),
            ("PUT", re.compile(r"/:/rate"), self._rate),
        ]

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("FakePlex not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> FakePlex:
        self._wake.clear()
        self._stopped = False
        self.come_up()
        return self

    def stop(self) -> None:
        """Shut down fast: delayed handlers wake, open connections are dropped."""
        self._stopped = True
        self._wake.set()
        self.go_down()

    def __enter__(self) -> FakePlex:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def go_down(self) -> None:
        """Close the listening socket and drop open connections: clients get connection refused."""
        with self._lock:
            httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        httpd.drop_connections()

    def come_up(self) -> None:
        """Listen again (on the same port once one was assigned)."""
        with self._lock:
            if self._httpd is not None:
                return
            httpd = _Server(("127.0.0.1", self._port), self)
            self._port = httpd.server_address[1]
            thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"fake-plex-{self._port}", daemon=True)
            self._httpd, self._thread = httpd, thread
        thread.start()

    @property
    def is_up(self) -> bool:
        return self._httpd is not None

    # ------------------------------------------------------------------ fault injection
    def fail_next(self, n: int, status: int = 500) -> None:
        """The next ``n`` requests answer ``status`` (429 carries ``Retry-After: 1``)."""
        with self._lock:
            self._faults.extend([status] * n)

    def set_delay(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (0 for none)."""
        self._delay = max(0.0, seconds)

    def set_fault(self, kind: Literal["none", "down", "up", "5xx", "429", "slow"], *, n: int = 1,
                  status: int = 503, seconds: float = 0.3) -> None:
        """Convenience: ``"none"`` clears every fault and comes back up."""
        if kind == "none":
            with self._lock:
                self._faults.clear()
            self.set_delay(0)
            if self._port and not self._stopped:
                self.come_up()
        elif kind == "down":
            self.go_down()
        elif kind == "up":
            self.come_up()
        elif kind == "5xx":
            self.fail_next(n, status)
        elif kind == "429":
            self.fail_next(n, 429)
        elif kind == "slow":
            self.set_delay(seconds)
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def reset_faults(self) -> None:
        self.set_fault("none")

    # ------------------------------------------------------------------ request log
    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request served so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (method is None or r.method == method.upper())
                   and (path_prefix is None or r.path.startswith(path_prefix)))

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def refreshes(self) -> list[tuple[int, str | None]]:
        """Every section refresh requested: (section_id, path or None)."""
        with self._lock:
            return list(self._refreshes)

    # ------------------------------------------------------------------ state setup
    def add_section(self, section_id: int, title: str, locations: list[str],
                    type: str = "movie") -> None:
        if type not in SECTION_TYPES:
            raise ValueError(f"section type must be one of {sorted(SECTION_TYPES)}")
        with self._lock:
            if section_id in self._sections:
                raise ValueError(f"section {section_id} exists")
            agent, scanner = _AGENTS[type]
            now = int(time.time())
            self._sections[section_id] = SectionState(
                section_id, title, type, list(locations), agent, scanner,
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"fakeplex/{section_id}")), now, now)

    def add_item(self, section_id: int, file: str, *, size: int = 0, duration_ms: int = 0,
                 title: str | None = None, rating_key: int | None = None,
                 files: list[tuple[str, int, int]] | None = None, **fields: Any) -> int:
        """Add a scanned movie; returns its ratingKey. ``fields`` are ItemState attributes."""
        with self._lock:
            paths = {file} | {f[0] for f in files or []}
            if any(path in paths for _, path, _ in self._staged):
                raise ValueError(f"{sorted(paths)} overlaps a staged file")
            item = self._build_item(section_id, file, size=size, duration_ms=duration_ms,
                                    title=title, rating_key=rating_key, files=files, **fields)
            self._items[item.rating_key] = item
            self._next_rk = max(self._next_rk, item.rating_key + 1)
            return item.rating_key

    def stage_item(self, section_id: int, file: str, **kwargs: Any) -> None:
        """A file on disk Plex has not scanned: it becomes an item when its section (or a folder
        holding it) is refreshed. Takes the same arguments as ``add_item``."""
        with self._lock:
            self._build_item(section_id, file, **kwargs)  # validate now, fail early
            if any(path == file for _, path, _ in self._staged):
                raise ValueError(f"{file} is already staged")
            self._staged.append((section_id, file, dict(kwargs)))

    @property
    def staged(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self._staged]

    def remove_item(self, rating_key: int) -> None:
        """Drop an item (as if its file vanished and Plex emptied the trash)."""
        with self._lock:
            del self._items[rating_key]

    def item(self, rating_key: int) -> ItemState:
        with self._lock:
            return copy.deepcopy(self._items[rating_key])

    def items(self, section_id: int | None = None) -> list[ItemState]:
        with self._lock:
            return [copy.deepcopy(i) for i in self._items.values()
                    if section_id is None or i.section_id == section_id]

    def find_by_file(self, path: str) -> ItemState | None:
        with self._lock:
            item = self._owner_of(path)
            return copy.deepcopy(item) if item is not None else None

    def _build_item(self, section_id: int, file: str, *, size: int = 0, duration_ms: int = 0,
                    title: str | None = None, rating_key: int | None = None,
                    files: list[tuple[str, int, int]] | None = None, **extra: Any) -> ItemState:
        section = self._sections.get(section_id)
        if section is None:
            raise ValueError(f"no section {section_id}")
        if section.type != "movie":
            raise ValueError("the fake holds items in movie sections only")
        parts = [(file, size, duration_ms)] if files is None else [
            (str(p), int(s), int(d)) for p, s, d in files]
        if file not in [p[0] for p in parts]:
            raise ValueError("file must be one of files")
        for path, _, _ in parts:
            if self._owner_of(path) is not None:
                raise ValueError(f"{path} already belongs to an item")
        if rating_key is not None and rating_key in self._items:
            raise ValueError(f"ratingKey {rating_key} exists")
        rk = rating_key if rating_key is not None else self._next_rk
        now = int(time.time())
        item = ItemState(rating_key=rk, section_id=section_id,
                         title=title or posixpath.splitext(posixpath.basename(file))[0],
                         files=parts,
                         added_at=now, updated_at=now)
        fixed = {"rating_key", "section_id", "title", "files"}
        allowed = {f.name for f in dataclass_fields(ItemState)} - fixed
        for name, value in extra.items():
            if name not in allowed:
                raise TypeError(f"unknown ItemState field {name!r}")
            if name == "tags":
                unknown = set(value) - set(TAG_KINDS)
                if unknown:
                    raise ValueError(f"unknown tag kinds {sorted(unknown)}")
                item.tags.update({k: list(v) for k, v in value.items()})
            elif name == "locked":
                if set(value) - LOCKABLE:
                    raise ValueError(f"not lockable: {sorted(set(value) - LOCKABLE)}")
                item.locked = set(value)
            else:
                setattr(item, name, copy.deepcopy(value))
        if item.originally_available_at and "year" not in extra:
            item.year = int(item.originally_available_at[:4])
        return item

    def _owner_of(self, path: str) -> ItemState | None:
        return next((i for i in self._items.values() if any(f[0] == path for f in i.files)), None)

    def _tag_id(self, kind: str, name: str) -> int:
        return self._tag_ids.setdefault((kind, name), len(self._tag_ids) + 1)

    # ------------------------------------------------------------------ HTTP plumbing
    def _serve(self, handler: _Handler, method: str) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path)
        if len(path) > 1:
            path = path.rstrip("/")
        pairs = parse_qsl(split.query, keep_blank_values=True)
        headers = dict(handler.headers.items())
        try:
            body = _read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            body, response = b"", _error(400, "unreadable request body")
        else:
            if self._delay > 0:
                self._wake.wait(self._delay)
            request = _Request(method, path, pairs, dict(pairs), headers, body)
            response = self._respond(request, handler)
        with self._lock:
            self._requests.append(RequestRecord(method, path, dict(pairs), headers, len(body),
                                                response.status))
        _send(handler, response)

    def _respond(self, req: _Request, handler: _Handler) -> _Response:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            response = _error(fault, "injected fault")
            if fault == 429:
                response.headers["Retry-After"] = "1"
            return response
        token = handler.headers.get("X-Plex-Token") or req.query.get("X-Plex-Token")
        if token != self.token:
            return _Response(401, plex_xml.UNAUTHORIZED_HTML.encode(), _HTML)
        for method, pattern, route in self._routes:
            match = pattern.fullmatch(req.path)
            if match and method == req.method:
                try:
                    with self._lock:
                        return route(match, req)
                except _HTTPError as exc:
                    return _error(exc.status, exc.detail)
                except Exception as exc:  # a fake bug or a conflicting setup: fail visibly
                    return _error(500, f"fake plex error: {exc!r}")
        return _error(404, f"no route for {req.method} {req.path}")

    # ------------------------------------------------------------------ routes: reads
    def _root(self, m: re.Match[str], req: _Request) -> _Response:
        return _xml(plex_xml.server_root(self._created))

    def _identity(self, m: re.Match[str], req: _Request) -> _Response:
        return _xml(plex_xml.identity())

    def _library(self, m: re.Match[str], req: _Request) -> _Response:
        return _xml(plex_xml.library_root())

    def _sections_list(self, m: re.Match[str], req: _Request) -> _Response:
        return _xml(plex_xml.sections(sorted(self._sections.values(),
                                             key=lambda s: s.section_id)))

    def _section_all(self, m: re.Match[str], req: _Request) -> _Response:
        section = self._section(int(m[1]))
        items = [i for i in self._items.values() if i.section_id == section.section_id]
        return self._listing(items, req, section)

    def _library_all(self, m: re.Match[str], req: _Request) -> _Response:
        return self._listing(list(self._items.values()), req, None)

    def _listing(self, items: list[ItemState], req: _Request,
                 section: SectionState | None) -> _Response:
        if "type" in req.query and _int(req.query["type"], "type") != SECTION_TYPES["movie"]:
            items = []
        title = req.query.get("title")
        if title:
            items = [i for i in items if title.casefold() in i.title.casefold()]
        items.sort(key=lambda i: ((i.title_sort or i.title).casefold(), i.rating_key))
        start = _int(_paging(req, "X-Plex-Container-Start") or "0", "container start")
        size_text = _paging(req, "X-Plex-Container-Size")
        size = self.page_size_default if size_text is None else _int(size_text, "container size")
        page = items[start:start + size]
        root = plex_xml.container(
            size=len(page), totalSize=len(items), offset=start, allowSync=1,
            identifier=plex_xml.LIBRARY_IDENTIFIER,
            librarySectionID=section.section_id if section else None,
            librarySectionTitle=section.title if section else None,
            librarySectionUUID=section.uuid if section else None,
            mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=1700000000,
            title1=section.title if section else "Library", title2="All Movies",
            viewGroup="movie")
        for item in page:
            root.append(plex_xml.video(item, self._sections[item.section_id],
                                       tag_limit=self.list_tag_limit, detail=False,
                                       tag_id=self._tag_id))
        return _xml(root)

    def _collections(self, m: re.Match[str], req: _Request) -> _Response:
        section = self._section(int(m[1]))
        return _xml(plex_xml.container(size=0, totalSize=0, offset=0,
                                       librarySectionID=section.section_id,
                                       librarySectionTitle=section.title))

    def _metadata(self, m: re.Match[str], req: _Request) -> _Response:
        found = [self._items[rk] for rk in map(int, m[1].split(",")) if rk in self._items]
        if not found:
            raise _HTTPError(404, f"no item {m[1]}")
        sections = {i.section_id for i in found}
        section = self._sections[found[0].section_id] if len(sections) == 1 else None
        root = plex_xml.container(
            size=len(found), allowSync=1, identifier=plex_xml.LIBRARY_IDENTIFIER,
            librarySectionID=section.section_id if section else None,
            librarySectionTitle=section.title if section else None,
            librarySectionUUID=section.uuid if section else None,
            mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=1700000000)
        for item in found:
            root.append(plex_xml.video(item, self._sections[item.section_id], tag_limit=None,
                                       detail=True, tag_id=self._tag_id))
        return _xml(root)

    def _image_list(self, m: re.Match[str], req: _Request) -> _Response:
        return _xml(plex_xml.images(self._item(int(m[1])), m[2]))

    def _image(self, m: re.Match[str], req: _Request) -> _Response:
        item = self._item(int(m[1]))
        data = item.poster if m[2] == "thumb" else item.art
        if data is None:
            raise _HTTPError(404, f"no uploaded {m[2]} for {item.rating_key}")
        return _Response(200, data, "image/jpeg")

    # ------------------------------------------------------------------ routes: writes
    def _upload(self, m: re.Match[str], req: _Request) -> _Response:
        item = self._item(int(m[1]))
        url = req.query.get("url")
        if not url and not req.body:
            raise _HTTPError(400, "upload needs ?url= or a request body")
        data = None if url else req.body
        if m[2] == "posters":
            item.poster, item.poster_url = data, url or None
        else:
            item.art, item.art_url = data, url or None
        _touch(item)
        return _Response()

    def _rate(self, m: re.Match[str], req: _Request) -> _Response:
        if req.query.get("identifier") != plex_xml.LIBRARY_IDENTIFIER:
            raise _HTTPError(400, "identifier must be com.plexapp.plugins.library")
        item = self._item(_int(req.query.get("key", ""), "key"))
        rating = _float(req.query.get("rating", ""), "rating")
        if rating != -1 and not 0 <= rating <= 10:
            raise _HTTPError(400, "rating must be -1 or 0..10")
        item.user_rating = None if rating == -1 else rating
        _touch(item)
        return _Response()

    def _refresh(self, m: re.Match[str], req: _Request) -> _Response:
        section = self._section(int(m[1]))
        path = req.query.get("path")
        self._refreshes.append((section.section_id, path))
        folder = path.rstrip("/") + "/" if path else None
        for staged in list(self._staged):
            section_id, file, kwargs = staged
            if section_id == section.section_id and (
                    folder is None or file == path or file.startswith(folder)):
                item = self._build_item(section_id, file, **kwargs)
                self._items[item.rating_key] = item
                self._next_rk = max(self._next_rk, item.rating_key + 1)
                self._staged.remove(staged)
        return _Response()

    def _cancel_refresh(self, m: re.Match[str], req: _Request) -> _Response:
        self._section(int(m[1]))
        return _Response()

    def _edit(self, m: re.Match[str], req: _Request) -> _Response:
        section = self._section(int(m[1]))
        type_num, ids, plan = _parse_edit(req.pairs)
        if type_num != SECTION_TYPES[section.type]:
            raise _HTTPError(400, f"type={type_num} does not match a {section.type} section")
        targets = []
        for rk in ids:
            item = self._items.get(rk)
            if item is None or item.section_id != section.section_id:
                raise _HTTPError(404, f"no item {rk} in section {section.section_id}")
            targets.append(item)
        if plan.is_empty():
            return _Response()
        for item in targets:
            _apply(item, plan)
            _touch(item)
        return _Response()

    # ------------------------------------------------------------------ lookups
    def _section(self, section_id: int) -> SectionState:
        section = self._sections.get(section_id)
        if section is None:
            raise _HTTPError(404, f"no section {section_id}")
        return section

    def _item(self, rating_key: int) -> ItemState:
        item = self._items.get(rating_key)
        if item is None:
            raise _HTTPError(404, f"no item {rating_key}")
        return item


# ---------------------------------------------------------------------- edit contract
def _parse_edit(pairs: Iterable[tuple[str, str]]) -> tuple[int, list[int], _EditPlan]:
    """Validate a whole edit query before anything is applied (400 on any junk)."""
    plan = _EditPlan()
    type_num: int | None = None
    ids: list[int] | None = None
    adds: dict[str, dict[int, str]] = {}
    characters: dict[int, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise _HTTPError(400, f"duplicate key {key}")
        seen.add(key)
        if key == "X-Plex-Token":
            continue
        if key == "type":
            type_num = _int(value, "type")
        elif key == "id":
            ids = [_int(part, "id") for part in value.split(",")]
        elif tag := _TAG_KEY.fullmatch(key):
            kind, index, minus = tag.groups()
            if kind not in TAG_KINDS:
                raise _HTTPError(400, f"unknown tag kind {kind!r}")
            if minus and index == "":
                plan.remove[kind] = [unquote(v) for v in value.split(",") if v]
            elif not minus and index != "":
                adds.setdefault(kind, {})[int(index)] = value
            else:
                raise _HTTPError(400, f"malformed tag key {key}")
        elif tagging := _TAGGING_KEY.fullmatch(key):
            characters[int(tagging[1])] = value
        elif fld := _FIELD_KEY.fullmatch(key):
            name, part = fld.groups()
            if part == "locked":
                if name not in LOCKABLE:
                    raise _HTTPError(400, f"{name} cannot be locked")
                if value not in ("0", "1"):
                    raise _HTTPError(400, f"{key} must be 0 or 1")
                plan.locks[name] = value == "1"
            elif name in _FIELDS:
                plan.values.update(_field_value(name, value))
            else:
                raise _HTTPError(400, f"unknown field {name!r}")
        else:
            raise _HTTPError(400, f"unknown edit key {key!r}")
    if type_num is None or ids is None:
        raise _HTTPError(400, "edit needs type= and id=")
    for kind, indexed in adds.items():
        values = [indexed[i] for i in sorted(indexed) if indexed[i]]
        plan.replace[kind] = list(dict.fromkeys(values))
    for index, character in characters.items():
        actor = adds.get("actor", {}).get(index)
        if actor is None:
            raise _HTTPError(400, f"actor[{index}].tagging.text without actor[{index}].tag.tag")
        plan.characters[actor] = character
    return type_num, ids, plan


def _field_value(name: str, value: str) -> dict[str, Any]:
    attr, kind = _FIELDS[name]
    if kind == "title":
        if not value.strip():
            raise _HTTPError(400, "title cannot be empty")
        return {attr: value}
    if kind == "text":
        return {attr: value or None}
    if value == "" and kind != "timestamp":
        return {attr: None, "year": None} if kind == "date" else {attr: None}
    if kind == "date":
        if not _DATE.fullmatch(value):
            raise _HTTPError(400, f"{name} must be YYYY-MM-DD")
        try:
            day = datetime.strptime(value[:10], "%Y-%m-%d")
        except ValueError:
            raise _HTTPError(400, f"{name}: invalid date {value!r}") from None
        return {attr: value[:10], "year": day.year}
    if kind == "rating":
        rating = _float(value, name)
        if not 0 <= rating <= 10:
            raise _HTTPError(400, f"{name} must be within 0..10")
        return {attr: rating}
    return {attr: _int(value, name)}  # timestamp


def _touch(item: ItemState) -> None:
    """Bump updatedAt: now, but always later than before (edits come faster than 1/s)."""
    item.updated_at = max(int(time.time()), item.updated_at + 1)


def _apply(item: ItemState, plan: _EditPlan) -> None:
    for kind, values in plan.replace.items():
        item.tags[kind] = list(values)
        if kind == "actor":
            item.roles = {a: item.roles[a] for a in values if a in item.roles}
    item.roles.update(plan.characters)
    for kind, values in plan.remove.items():
        gone = set(values)
        item.tags[kind] = [t for t in item.tags[kind] if t not in gone]
        if kind == "actor":
            item.roles = {a: c for a, c in item.roles.items() if a not in gone}
    for attr, value in plan.values.items():
        setattr(item, attr, value)
    for name, locked in plan.locks.items():
        if locked:
            item.locked.add(name)
        else:
            item.locked.discard(name)


# ---------------------------------------------------------------------- helpers
def _int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _HTTPError(400, f"{what} must be an integer, got {text!r}") from None
    if value < 0:
        raise _HTTPError(400, f"{what} must not be negative")
    return value


def _float(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _HTTPError(400, f"{what} must be a number, got {text!r}") from None


def _paging(req: _Request, name: str) -> str | None:
    """Paging comes from a header or a query param of the same name (header wins)."""
    for key, value in req.headers.items():
        if key.lower() == name.lower():
            return value
    return req.query.get(name)


def _xml(root: Any) -> _Response:
    return _Response(200, plex_xml.to_bytes(root))


def _error(status: int, detail: str) -> _Response:
    return _Response(status, plex_xml.error_html(status, detail), _HTML)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _send(handler: BaseHTTPRequestHandler, response: _Response) -> None:
    try:
        handler.send_response(response.status)
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.send_header("X-Plex-Protocol", "1.0")
        for key, value in response.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(response.body)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakePlex) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._closing = False
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if not add:
                self._conns.discard(conn)
            elif self._closing:  # accepted just before go_down: drop it too
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            else:
                self._conns.add(conn)

    def drop_connections(self) -> None:
        """Reset keep-alive connections so pooled clients see the server gone."""
        with self._conns_lock:
            self._closing = True
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or vanish are normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like PMS
    disable_nagle_algorithm = True  # else headers+body as two writes cost 40 ms (delayed ACK)
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self.server.fake._serve(self, "GET")

    def do_PUT(self) -> None:
        self.server.fake._serve(self, "PUT")

    def do_POST(self) -> None:
        self.server.fake._serve(self, "POST")

    def do_DELETE(self) -> None:
        self.server.fake._serve(self, "DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""
