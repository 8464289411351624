"""A loopback fake Plex Media Server, driven by tests through the real plexapi client.

The contract is what plexapi 4.18 sends and reads (docs/plex-api.md) and
docs/design.md#test-doubles. The fake is strict where real PMS is strict, so a plugin that sends
junk fails in tests.
This module has the server's lifecycle, faults, request log and routes. The library state and
setup API live in ``testkit/plex_state.py``, the edit contract in ``testkit/plex_edit.py``, the
HTTP plumbing in ``testkit/plex_http.py`` and the XML shapes in ``testkit/plex_xml.py``.

Faithful:
- Auth: ``X-Plex-Token`` header or ``?X-Plex-Token=``; a missing or wrong token gets 401 with a
  small HTML body (plexapi raises ``Unauthorized``).
- ``GET /``, ``/identity``, ``/library``, ``/library/sections`` with the attributes plexapi reads.
- ``GET /library/sections/{id}/all`` (and ``/library/all``): paging from the
  ``X-Plex-Container-Start``/``-Size`` headers or the same query params, ``size``/``totalSize``/
  ``offset``, ``type=`` filter, ``title=`` (case-insensitive contains), ``titleSort`` order.
  ``<Media><Part file size duration/></Media>`` is nested as real PMS does. List views carry only
  the first ``list_tag_limit`` tags of each kind (python-plexapi #713) and no ``<Field>``.
- Every MediaContainer answer carries the ``X-Plex-Container-Start`` and
  ``X-Plex-Container-Total-Size`` headers. Elements and attributes are the ones the PMS API
  spec documents, plus the few it omits that plexapi reads (``tests/contract/
  test_plex_contract.py`` holds the fake to that; ``docs/plex-api.md`` lists the gaps).
- ``GET /library/metadata/{rk}[,rk…]``: full tags, ``<Field name locked="1"/>`` per lock,
  ``librarySectionID`` on container and Video; unknown → 404.
- ``PUT /library/sections/{id}/all``: the edit contract. Keys are URL-decoded; ``type`` and ``id``
  are required (400); every id must exist and be in that section (404); ``type`` must match the
  section. ``f.value`` sets (``''`` clears), ``f.locked=0|1`` (also tag kinds, ``thumb``, ``art``),
  ``tag[i].tag.tag`` *replaces* that kind's list, ``tag[].tag.tag-=a,b`` removes (each value
  quoted, then comma-joined), ``tag[].tag`` removes every association of that kind. Clears
  apply first, then adds, then removes. Unknown keys, bad values, duplicate keys
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
- A refresh is applied synchronously (staged files become items before the 200 is sent)
  unless ``scan_delay`` is set: then, as in real PMS, the 200 comes at once and the staged
  files become items ``scan_delay`` seconds later. ``force=1`` metadata refresh does nothing
  (no agents).
- Tag names match exactly (case-sensitive) for removal and de-duplication; an empty title is
  refused with 400 (PMS behaviour unverified; the plugin must never send one).
- Each file of an item is one ``<Media>`` with one ``<Part>`` (versions, not stacked parts).
- Uploads accept any non-empty body (no image validation); uploading does not lock the poster.
- Error pages carry a ``<p>`` with the reason (PMS sends a bare page) to make test failures clear.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from testkit import plex_xml
from testkit.plex_edit import apply_edit, parse_edit
from testkit.plex_hostile import RESET, HostileAnswers
from testkit.plex_http import (
    HTML,
    Handler,
    HTTPError,
    Request,
    Response,
    Server,
    error_response,
    paging,
    parse_float,
    parse_int,
    read_body,
    send,
    xml_response,
)
from testkit.plex_state import (
    LOCKABLE,
    SECTION_TYPES,
    TAG_KINDS,
    ItemState,
    PlexLibrary,
    SectionState,
    select_poster,
    shows_poster,
    touch,
    upload_poster,
)

#: What ``GET .../thumb/<t>`` serves while Plex shows its generated thumbnail (a JPEG's head).
GENERATED_THUMB = b"\xff\xd8\xff\xe0 a frame Plex extracted from the video \xff\xd9"

__all__ = [
    "LOCKABLE", "OBSERVERS", "SECTION_TYPES", "TAG_KINDS", "FakePlex", "ItemState", "Observer",
    "RequestRecord", "Route", "SectionState",
]


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # URL-decoded path, no query string
    query: dict[str, str]  # URL-decoded keys and values (last one wins on repeats)
    headers: dict[str, str]
    body_len: int
    status: int
    at: float = 0.0  # time.monotonic() when it was answered (for schedules: probe backoff, ramp)


Route = Callable[[re.Match[str], Request], Response]
#: Called after every request any FakePlex serves, with the decoded query pairs (in order,
#: repeats kept) and the response. The session-wide Plex contract check registers here
#: (``tests/plex_contract_guard.py``); an observer must not raise.
Observer = Callable[[RequestRecord, list[tuple[str, str]], Response], None]
OBSERVERS: list[Observer] = []


class FakePlex(PlexLibrary):
    """The fake server. Use as ``with FakePlex() as plex:`` or ``start()``/``stop()``.
    The setup API (add_section, add_item, stage_item, ...) comes from ``PlexLibrary``."""

    def __init__(self, token: str = "test-token", list_tag_limit: int = 3,
                 page_size_default: int = 100) -> None:
        super().__init__()
        self.token = token
        self.list_tag_limit = list_tag_limit
        self.page_size_default = page_size_default  # page size when a GET names none
        self._refreshes: list[tuple[int, str | None]] = []
        self._requests: list[RequestRecord] = []
        self._faults: deque[int] = deque()
        self.hostile = HostileAnswers()   # proxy-like answers (redirects, HTML, resets, ...)
        self._delay = 0.0
        self._delay_method = ""
        self.scan_delay = 0.0  # seconds between a refresh request and its staged files appearing
        self._port = 0
        self._httpd: Server | None = None
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
            ("PUT", re.compile(r"/library/metadata/(\d+)/poster"), self._select_poster),
            ("GET", re.compile(r"/library/metadata/(\d+)/(thumb|art)(?:/\d+)?"), self._image),
            ("PUT", re.compile(r"/:/rate"), self._rate),
            ("GET", re.compile(r"/status/sessions/history/all"), self._history_all),
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
        self.hostile.base_url = self.url
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
            httpd = Server(("127.0.0.1", self._port), self._serve)
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

    def set_delay(self, seconds: float, *, method: str = "") -> None:
        """Delay every response by ``seconds`` (0 for none); with ``method``, only the answers
        to that method's requests (a Plex whose /identity answers while its edits hang)."""
        self._delay = max(0.0, seconds)
        self._delay_method = method

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

    # ------------------------------------------------------------------ HTTP plumbing
    def _serve(self, handler: Handler, method: str) -> None:
        split = urlsplit(handler.path)
        path = unquote(split.path)
        if len(path) > 1:
            path = path.rstrip("/")
        pairs = parse_qsl(split.query, keep_blank_values=True)
        headers = dict(handler.headers.items())
        try:
            body = read_body(handler)
        except (ValueError, OSError):
            handler.close_connection = True
            body, response = b"", error_response(400, "unreadable request body")
        else:
            if self._delay > 0 and self._delay_method in ("", method):
                self._wake.wait(self._delay)
            request = Request(method, path, pairs, dict(pairs), headers, body)
            response = self.hostile.answer(request, lambda: self._respond(request, handler))
        record = RequestRecord(method, path, dict(pairs), headers, len(body), response.status,
                               time.monotonic())
        with self._lock:
            self._requests.append(record)
        for observe in list(OBSERVERS):
            observe(record, pairs, response)
        if response is RESET:   # drop the connection without an answer
            handler.close_connection = True
            return
        send(handler, response)

    def _respond(self, req: Request, handler: Handler) -> Response:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None:
            response = error_response(fault, "injected fault")
            if fault == 429:
                response.headers["Retry-After"] = "1"
            return response
        token = handler.headers.get("X-Plex-Token") or req.query.get("X-Plex-Token")
        # PMS serves /identity without a token (the OpenAPI spec: `security: - {}`)
        if token != self.token and not (req.method == "GET" and req.path == "/identity"):
            return Response(401, plex_xml.UNAUTHORIZED_HTML.encode(), HTML)
        for method, pattern, route in self._routes:
            match = pattern.fullmatch(req.path)
            if match and method == req.method:
                try:
                    with self._lock:
                        return route(match, req)
                except HTTPError as exc:
                    return error_response(exc.status, exc.detail)
                except Exception as exc:  # a fake bug or a conflicting setup: fail visibly
                    return error_response(500, f"fake plex error: {exc!r}")
        return error_response(404, f"no route for {req.method} {req.path}")

    # ------------------------------------------------------------------ routes: reads
    def _root(self, m: re.Match[str], req: Request) -> Response:
        return xml_response(plex_xml.server_root(self._created))

    def _identity(self, m: re.Match[str], req: Request) -> Response:
        return xml_response(plex_xml.identity())

    def _library(self, m: re.Match[str], req: Request) -> Response:
        return xml_response(plex_xml.library_root())

    def _sections_list(self, m: re.Match[str], req: Request) -> Response:
        return xml_response(plex_xml.sections(sorted(self._sections.values(),
                                                     key=lambda s: s.section_id)))

    def _section_all(self, m: re.Match[str], req: Request) -> Response:
        section = self._section(int(m[1]))
        items = [i for i in self._items.values() if i.section_id == section.section_id]
        return self._listing(items, req, section)

    def _library_all(self, m: re.Match[str], req: Request) -> Response:
        return self._listing(list(self._items.values()), req, None)

    def _listing(self, items: list[ItemState], req: Request,
                 section: SectionState | None) -> Response:
        if "type" in req.query and parse_int(req.query["type"], "type") != SECTION_TYPES["movie"]:
            items = []
        title = req.query.get("title")
        if title:
            items = [i for i in items if title.casefold() in i.title.casefold()]
        items = _filtered(items, req)
        items.sort(key=lambda i: ((i.title_sort or i.title).casefold(), i.rating_key))
        start = parse_int(paging(req, "X-Plex-Container-Start") or "0", "container start")
        size_text = paging(req, "X-Plex-Container-Size")
        size = (self.page_size_default if size_text is None
                else parse_int(size_text, "container size"))
        page = items[start:start + size]
        root = plex_xml.container(
            size=len(page), totalSize=len(items), offset=start,
            identifier=plex_xml.LIBRARY_IDENTIFIER,
            librarySectionID=section.section_id if section else None,
            librarySectionTitle=section.title if section else None,
            librarySectionUUID=section.uuid if section else None)
        for item in page:
            root.append(plex_xml.video(item, self._sections[item.section_id],
                                       tag_limit=self.list_tag_limit, detail=False,
                                       tag_id=self._tag_id))
        return xml_response(root)

    def _collections(self, m: re.Match[str], req: Request) -> Response:
        section = self._section(int(m[1]))
        return xml_response(plex_xml.container(size=0, totalSize=0, offset=0,
                                               librarySectionID=section.section_id,
                                               librarySectionTitle=section.title))

    def _metadata(self, m: re.Match[str], req: Request) -> Response:
        found = [self._items[rk] for rk in map(int, m[1].split(",")) if rk in self._items]
        if not found:
            raise HTTPError(404, f"no item {m[1]}")
        sections = {i.section_id for i in found}
        section = self._sections[found[0].section_id] if len(sections) == 1 else None
        root = plex_xml.container(
            size=len(found), identifier=plex_xml.LIBRARY_IDENTIFIER,
            librarySectionID=section.section_id if section else None,
            librarySectionTitle=section.title if section else None,
            librarySectionUUID=section.uuid if section else None)
        for item in found:
            root.append(plex_xml.video(item, self._sections[item.section_id], tag_limit=None,
                                       detail=True, tag_id=self._tag_id))
        return xml_response(root)

    def _image_list(self, m: re.Match[str], req: Request) -> Response:
        return xml_response(plex_xml.images(self._item(int(m[1])), m[2]))

    def _image(self, m: re.Match[str], req: Request) -> Response:
        item = self._item(int(m[1]))
        data = item.poster if m[2] == "thumb" else item.art
        if data is None and m[2] == "thumb" and shows_poster(item):
            data = GENERATED_THUMB
        if data is None:
            raise HTTPError(404, f"no uploaded {m[2]} for {item.rating_key}")
        return Response(200, data, "image/jpeg")

    # ------------------------------------------------------------------ routes: writes
    def _upload(self, m: re.Match[str], req: Request) -> Response:
        item = self._item(int(m[1]))
        url = req.query.get("url")
        if not url and not req.body:
            raise HTTPError(400, "upload needs ?url= or a request body")
        data = None if url else req.body
        if m[2] == "posters":
            upload_poster(item, data, url or None)
        else:
            item.art, item.art_url = data, url or None
            touch(item)
        return Response()

    def _select_poster(self, m: re.Match[str], req: Request) -> Response:
        item = self._item(int(m[1]))
        if not select_poster(item, req.query.get("url", "")):
            raise HTTPError(404, f"item {item.rating_key} has no poster {req.query.get('url')!r}")
        return Response()

    def _rate(self, m: re.Match[str], req: Request) -> Response:
        if req.query.get("identifier") != plex_xml.LIBRARY_IDENTIFIER:
            raise HTTPError(400, "identifier must be com.plexapp.plugins.library")
        item = self._item(parse_int(req.query.get("key", ""), "key"))
        rating = parse_float(req.query.get("rating", ""), "rating")
        if rating != -1 and not 0 <= rating <= 10:
            raise HTTPError(400, "rating must be -1 or 0..10")
        item.user_rating = None if rating == -1 else rating
        rated_at = req.query.get("ratedAt")
        item.last_rated_at = (parse_int(rated_at, "ratedAt") if rated_at
                              else int(time.time()))
        touch(item)
        return Response()

    def _history_all(self, m: re.Match[str], req: Request) -> Response:
        """Playback history, oldest first unless ``sort=viewedAt:desc``; filters accountID,
        librarySectionID, metadataItemID and ``viewedAt>=`` (or ``viewedAt>``/``<=``/``<``)."""
        rows = list(self._history)
        columns = {"accountID": "account_id", "librarySectionID": "section_id",
                   "metadataItemID": "rating_key", "viewedAt": "viewed_at"}
        for key, value in req.pairs:
            found = re.fullmatch(r"([A-Za-z]+)([<>!]?)", key)   # viewedAt>=N → "viewedAt>"
            if found is not None and found[1] in columns:
                number = parse_int(value, found[1])
                rows = [r for r in rows
                        if _compare(getattr(r, columns[found[1]]), found[2], number)]
        rows.sort(key=lambda r: (r.viewed_at, r.history_key),
                  reverse=req.query.get("sort", "").startswith("viewedAt:desc"))
        start = parse_int(paging(req, "X-Plex-Container-Start") or "0", "container start")
        size_text = paging(req, "X-Plex-Container-Size")
        size = (self.page_size_default if size_text is None
                else parse_int(size_text, "container size"))
        page = rows[start:start + size]
        root = plex_xml.container(size=len(page), totalSize=len(rows), offset=start)
        for entry in page:
            root.append(plex_xml.history_entry(entry))
        return xml_response(root)

    def _refresh(self, m: re.Match[str], req: Request) -> Response:
        section = self._section(int(m[1]))
        path = req.query.get("path")
        self._refreshes.append((section.section_id, path))
        if self.scan_delay > 0:  # PMS answers at once and scans in the background
            def later(section_id: int = section.section_id) -> None:
                with self._lock:
                    self._scan(section_id, path)

            timer = threading.Timer(self.scan_delay, later)
            timer.daemon = True
            timer.start()
        else:
            self._scan(section.section_id, path)
        return Response()

    def _cancel_refresh(self, m: re.Match[str], req: Request) -> Response:
        self._section(int(m[1]))
        return Response()

    def _edit(self, m: re.Match[str], req: Request) -> Response:
        section = self._section(int(m[1]))
        type_num, ids, plan = parse_edit(req.pairs)
        if type_num != SECTION_TYPES[section.type]:
            raise HTTPError(400, f"type={type_num} does not match a {section.type} section")
        targets = []
        for rk in ids:
            item = self._items.get(rk)
            if item is None or item.section_id != section.section_id:
                raise HTTPError(404, f"no item {rk} in section {section.section_id}")
            targets.append(item)
        if plan.is_empty():
            return Response()
        for item in targets:
            apply_edit(item, plan)
            if "user_rating" in plan.values:   # a rating written by any means is "rated"
                item.last_rated_at = int(time.time())
            touch(item)
        return Response()

    # ------------------------------------------------------------------ lookups
    def _section(self, section_id: int) -> SectionState:
        section = self._sections.get(section_id)
        if section is None:
            raise HTTPError(404, f"no section {section_id}")
        return section

    def _item(self, rating_key: int) -> ItemState:
        item = self._items.get(rating_key)
        if item is None:
            raise HTTPError(404, f"no item {rating_key}")
        return item


#: Listing filters the fake applies (PMS's media query on a section's filter fields):
#: field → the ItemState attribute and its type. Others are ignored, as PMS ignores them.
_FILTERS: dict[str, tuple[str, str]] = {
    "inProgress": ("view_offset", "boolean"), "unwatched": ("view_count", "unwatched"),
    "lastViewedAt": ("last_viewed_at", "date"), "lastRatedAt": ("last_rated_at", "date"),
    "viewCount": ("view_count", "integer"), "userRating": ("user_rating", "integer"),
}


def _filtered(items: list[ItemState], req: Request) -> list[ItemState]:
    """Apply ``field=v``, ``field!=v``, ``field>>=v`` and ``field<<=v`` filters (PMS's media
    query operators; parse_qsl leaves the operator's head on the key: ``lastRatedAt>>``)."""
    for key, value in req.pairs:
        found = re.fullmatch(r"([A-Za-z]+)(>>|<<|!)?", key)
        if found is None or found[1] not in _FILTERS:
            continue
        attr, kind = _FILTERS[found[1]]
        op = found[2] or ""
        if kind in ("boolean", "unwatched"):
            want = parse_int(value, found[1]) == 1
            if op == "!":
                want = not want
            if kind == "boolean":
                items = [i for i in items if bool(getattr(i, attr)) == want]
            else:
                items = [i for i in items if (i.view_count == 0) == want]
            continue
        number = parse_int(value, found[1])
        cmp = {"": "=", "!": "!", ">>": ">", "<<": "<"}[op]
        items = [i for i in items if getattr(i, attr) is not None
                 and _compare(getattr(i, attr), cmp + ("=" if op in (">>", "<<") else ""),
                              number)]
    return items


def _compare(have: float, op: str, want: float) -> bool:
    return {"": have == want, "=": have == want, "!": have != want, ">": have >= want,
            "<": have <= want, ">=": have >= want, "<=": have <= want}[op]
