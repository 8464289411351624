"""The Plex client layer: connection, identity headers and the few requests PlexSync sends.

Invariants:
- Plex sees ONE device: every request carries PlexSync's identity headers
  (X-Plex-Client-Identifier = the persistent `datadir.device_id`, product "PlexSync", version
  `plexsync.__version__`), set per session (`identity_headers`); plexapi's module globals
  (`BASE_HEADERS`, `X_PLEX_*`) are never changed, so a user's own plexapi code in the same
  process keeps its own identity.
- Nothing connects at construction. `identity()` is a single `GET /identity` with a short
  timeout; everything else connects first (`PlexServer(...)` sends exactly one `GET /`).
- Every request goes through `_guard`, which turns every failure into a `plexsync.errors`
  class with `plex_errors.translate` (refused, timeout, 5xx, 429 → `PlexServerDown`;
  401 → `PlexAuth`; 404 → `PlexNotFound` or `PlexBadRequest`, the caller says which; other 4xx
  and non-XML answers → `PlexBadRequest`; redacted, the token never appears). `GET /` and
  `GET /library/sections` also ask it to treat a 404 or non-Plex XML as a `ConfigError` with
  the fix (plex_url is not a Plex server at all), which stops the drain instead of failing
  every job. So is a Plex with no movie library. Messages name the request (method and path,
  never the query).
- Responses are parsed by `plex.parse` into the plain values of `plex.model` (`Section`,
  `PlexItem`, `Page`); no plexapi object or Plex camelCase name leaves the two modules.
  plexapi's lazy-reloading Video objects are never built, so no hidden GET can happen.
- Every request goes through `plex.session.PlexSession`: a redirect is followed only within
  plex_url's own origin, and a write follows none, so the token never reaches another host
  and a redirected edit is never replayed as a GET (both: `PlexSetupError` naming the target).
- Edits are sent as ONE `PUT /library/sections/{id}/all` whose query string is built exactly as
  plexapi's `joinArgs` builds it (keys sorted case-insensitively, values `quote(safe='')`).

plexapi and requests are imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from plexsync import __version__
from plexsync.core import datadir
from plexsync.core.http_env import pin_environment
from plexsync.core.log import log
from plexsync.core.settings import Settings
from plexsync.errors import (
    ConfigError,
    PlexAuth,
    PlexBadRequest,
    PlexNotFound,
    PlexServerDown,
    PlexSetupError,
    PlexSyncError,
)
from plexsync.plex import parse
from plexsync.plex.errors import StatusError, not_plex_message, translate
from plexsync.plex.model import (
    IndexRow,
    ListedItem,
    ListingPage,
    Page,
    PlayPage,
    PlayStatePage,
    PlexItem,
    Section,
)

__all__ = ["IndexRow", "ListedItem", "ListingPage", "Page", "PlexClient", "PlexItem", "Section",
           "identity_headers"]

if TYPE_CHECKING:
    from plexsync.plex.session import PlexSession

MOVIE_TYPE = 1
PRODUCT = "PlexSync"
IDENTITY_TIMEOUT = (3.0, 5.0)


def identity_headers(device_id: str) -> dict[str, str]:
    """plexapi's X-Plex-* header set with PlexSync's product, version, device name and
    persistent device id: what every request to Plex announces (reads plexapi's globals,
    never writes them)."""
    from plexapi.config import reset_base_headers

    headers: dict[str, str] = reset_base_headers()  # type: ignore[no-untyped-call]
    headers.update({"X-Plex-Client-Identifier": device_id, "X-Plex-Product": PRODUCT,
                    "X-Plex-Version": __version__,
                    "X-Plex-Device-Name": f"{PRODUCT} ({socket.gethostname()})"})
    return headers


class PlexClient:
    """One Plex server, lazily connected. Not thread-safe (one per drain)."""

    def __init__(self, settings: Settings, data_dir: str) -> None:
        settings.require_plex()
        self._settings = settings
        self._base = settings.plex_base_url
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._data_dir = data_dir
        self._session: PlexSession | None = None
        self._server: Any = None
        self._sections: list[Section] | None = None
        log.add_secret(settings.plex_token)

    # ------------------------------------------------------------------ plumbing
    def _http(self) -> PlexSession:
        if self._session is None:
            from plexsync.plex.session import PlexSession

            session = PlexSession(self._base, identity_headers(datadir.device_id(self._data_dir)))
            session.verify = self._settings.verify_tls
            pin_environment(session, self._base)
            if not self._settings.verify_tls:
                import urllib3

                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self._session = session
        return self._session

    def connect(self) -> None:
        """`PlexServer(...)`: one `GET /`. Raises PlexAuth / PlexServerDown / PlexBadRequest,
        or ConfigError when what answers at plex_url is not a Plex Media Server (a 404, a body
        that is not Plex XML, no server identity): no job can succeed until plex_url is fixed."""
        if self._server is not None:
            return
        session = self._http()
        from plexapi.server import PlexServer

        server = self._guard("GET /", PlexBadRequest, lambda: PlexServer(  # type: ignore[no-untyped-call]
            self._base, self._settings.plex_token, session=session, timeout=self._timeout),
            not_plex=True)
        if not getattr(server, "machineIdentifier", None):
            raise ConfigError(not_plex_message(self._base, "GET /",
                                               "an answer with no Plex server id"))
        self._server = server

    def _guard(self, what: str, not_found: type[PlexSyncError], call: Callable[[], Any],
               not_plex: bool = False) -> Any:
        """Run `call`, translating failures; with `not_plex`, an answer that shows plex_url is
        not a Plex server (404, not XML) is a ConfigError."""
        session = self._http()
        session.last_status = 0
        try:
            return call()
        except PlexSyncError:
            raise
        except Exception as exc:
            status = session.last_status
            error = translate(exc, what, not_found, self._base, not_plex=not_plex,
                              status=status)
            if isinstance(exc, ET.ParseError | AttributeError) and \
                    not isinstance(error, ConfigError):
                # A body that is not XML (a proxy's page, a cut-off answer) is about the
                # link to Plex, never about one scene: stop the drain, keep every job.
                raise PlexSetupError(str(error)) from None
            if status == 403:
                # Forbidden: a proxy's access rule or a token without rights on the server;
                # never one scene's fault.
                raise PlexSetupError(log.redact(
                    f"Plex at {self._base} refused {what} (403 Forbidden); no job was charged. "
                    "Check that plex_token is the server owner's token and that no proxy "
                    "blocks PlexSync.")) from None
            raise error from None

    def _call(self, method: str, key: str, *, not_found: type[PlexSyncError] = PlexBadRequest,
              headers: Mapping[str, str] | None = None, data: bytes | None = None,
              timeout: tuple[float, float] | None = None,
              not_plex: bool = False) -> ET.Element | None:
        from plexsync.core.redirects import WRITES

        self.connect()
        server = self._server
        verb = getattr(self._http(), method.lower())
        what = f"{method} {key.split('?', 1)[0]}"
        kwargs: dict[str, Any] = {"method": verb, "headers": dict(headers or {}),
                                  "timeout": timeout or self._timeout}
        if data is not None:
            kwargs["data"] = data
        root: ET.Element | None = self._guard(what, not_found, lambda: server.query(key, **kwargs),
                                              not_plex)
        if method in WRITES and root is not None and root.tag != "MediaContainer":
            # Plex confirms a write with an empty body (or a MediaContainer); a page with
            # status 200 came from something else, and the write never reached Plex.
            raise PlexSetupError(log.redact(
                f"Plex at {self._base} answered {what} with a <{root.tag[:20]}> page instead "
                "of confirming it; nothing was recorded. Check that plex_url reaches Plex "
                "directly (not a proxy's login or error page)."))
        return root

    # ------------------------------------------------------------------ requests
    def identity(self, timeout: tuple[float, float] | None = None) -> dict[str, str]:
        """The health probe: ONE `GET /identity` (no connect), short timeout; its attributes."""
        session = self._http()
        timeout = timeout or (min(IDENTITY_TIMEOUT[0], self._timeout[0]),
                              min(IDENTITY_TIMEOUT[1], self._timeout[1]))
        headers = {"X-Plex-Token": self._settings.plex_token}
        what = "GET /identity"

        def probe() -> dict[str, str]:
            response = session.get(f"{self._base}/identity", headers=headers, timeout=timeout)
            if response.status_code != 200:
                raise StatusError(response.status_code)
            return dict(ET.fromstring(response.content).attrib)

        result: dict[str, str] = self._guard(what, PlexBadRequest, probe)
        return result

    def sections(self) -> list[Section]:
        """Every library section (one `GET /library/sections`, cached per client)."""
        if self._sections is None:
            root = self._call("GET", "/library/sections", not_plex=True)
            if root is None or root.tag != "MediaContainer":
                raise ConfigError(not_plex_message(self._base, "GET /library/sections",
                                                   "an answer that is not a Plex library list"))
            found = parse.sections(root)
            self._sections = found
        return self._sections

    def configured_sections(self) -> list[Section]:
        """`plex_library` names → sections; empty = every movie section. ConfigError if unknown."""
        sections = self.sections()
        wanted = self._settings.plex_library
        if not wanted:
            movies = [s for s in sections if s.type == "movie"]
            if not movies:
                raise ConfigError(
                    "Plex has no movie library for PlexSync to sync into (its libraries are: "
                    f"{_library_names(sections)}); add a Movies or Other Videos library in Plex "
                    "holding your Stash files, then name it in plex_library or leave that empty.")
            return movies
        chosen: list[Section] = []
        for name in wanted:
            hit = next((s for s in sections if s.title == name), None) or next(
                (s for s in sections if s.title.casefold() == name.casefold()), None)
            if hit is None:
                raise ConfigError(f"plex_library names '{name}', but Plex has no library by that "
                                  f"name; its libraries are: {_library_names(sections)}.")
            if hit.type != "movie":
                raise ConfigError(f"plex_library names '{hit.title}', a {hit.type} library; "
                                  "PlexSync syncs Movies and Other Videos libraries only.")
            if hit not in chosen:
                chosen.append(hit)
        return chosen

    def section_page(self, section_id: int, start: int, size: int) -> Page:
        """One page of a section listing (one GET), as index rows. A failed listing is never
        one scene's fault: besides PlexAuth and PlexServerDown it raises PlexSetupError."""
        try:
            root = self._call(
                "GET", f"/library/sections/{section_id}/all?type={MOVIE_TYPE}"
                "&excludeFields=summary,tagline&excludeElements=Genre,Role,Director,Writer,"
                "Country,Collection,Label,Guid,Producer",
                headers={"X-Plex-Container-Start": str(start),
                         "X-Plex-Container-Size": str(size)})
        except (PlexAuth, PlexServerDown, ConfigError):
            raise
        except PlexSyncError as exc:
            raise PlexSetupError(f"listing library section {section_id} failed: {exc}") from None
        return parse.index_page(self._require_listing(root, section_id))

    def _require_listing(self, root: ET.Element | None, section_id: int) -> ET.Element:
        """`root` if it is a listing. An empty or HTML 200 (a proxy's page) is no listing,
        never an empty library: PlexSetupError, which stops the drain and charges no job."""
        if root is not None and root.tag == "MediaContainer":
            return root
        raise PlexSetupError(log.redact(
            f"Plex at {self._base} answered the listing of library section {section_id} "
            "with something that is not a Plex library listing; no job was charged. Check "
            "that plex_url reaches Plex directly (not a proxy's login or error page)."))

    def history_page(self, since: int, account_id: int, start: int, size: int) -> PlayPage:
        """ONE page of the playback history of `account_id` with `viewedAt >= since`, oldest
        first (plays that arrive meanwhile append at the end, so paging skips none). A failed
        or non-Plex answer is never one scene's fault: PlexSetupError (or PlexAuth,
        PlexServerDown, ConfigError)."""
        root = self._read_listing(
            f"/status/sessions/history/all?accountID={int(account_id)}"
            f"&viewedAt>={int(since)}&sort=viewedAt:asc", start, size, "the playback history")
        return parse.play_page(root)

    def play_state_page(self, section_id: int, criterion: str, start: int,
                        size: int) -> PlayStatePage:
        """ONE page of a section listing filtered by `criterion` (a Plex media query such as
        `inProgress=1` or `lastRatedAt>>=<epoch>`), trimmed to the play state and rating."""
        root = self._read_listing(
            f"/library/sections/{section_id}/all?type={MOVIE_TYPE}&{criterion}"
            "&excludeFields=summary,tagline&excludeElements=Media,Genre,Role,Director,Writer,"
            "Country,Collection,Label,Guid,Producer", start, size,
            f"library section {section_id}")
        return parse.play_state_page(root)

    def _read_listing(self, key: str, start: int, size: int, what: str) -> ET.Element:
        try:
            root = self._call("GET", key, headers={"X-Plex-Container-Start": str(start),
                                                   "X-Plex-Container-Size": str(size)})
        except (PlexAuth, PlexServerDown, ConfigError):
            raise
        except PlexSyncError as exc:
            raise PlexSetupError(f"reading {what} failed: {exc}") from None
        if root is not None and root.tag == "MediaContainer":
            return root
        raise PlexSetupError(log.redact(
            f"Plex at {self._base} answered the request for {what} with something that is "
            "not Plex XML; nothing was imported. Check that plex_url reaches Plex directly "
            "(not a proxy's login or error page)."))

    def fetch_item(self, rating_key: int) -> PlexItem:
        """ONE `GET /library/metadata/{rk}` (full tags and locks). 404 → PlexNotFound."""
        root = self._call("GET", f"/library/metadata/{rating_key}", not_found=PlexNotFound)
        if root is None or root.tag != "MediaContainer":   # an empty or HTML 200: not Plex
            raise PlexSetupError(log.redact(
                f"Plex at {self._base} answered GET /library/metadata/{rating_key} with "
                "something that is not Plex XML; no job was charged. Check that plex_url "
                "reaches Plex directly (not a proxy's login or error page)."))
        video = root.find("Video")
        if video is None:
            raise PlexNotFound(f"Plex has no item {rating_key} any more.")
        return parse.video(video, parse.as_int(root.get("librarySectionID")), rating_key)

    def listing_page(self, section_id: int, start: int, size: int) -> ListingPage:
        """One page of a section listing WITH its values (one GET): the index rows plus each
        item as the list view shows it (`ListedItem`). List views carry no locks and only the
        first few tags of each kind; callers must treat those lists as possibly truncated."""
        root = self._call(
            "GET", f"/library/sections/{section_id}/all?type={MOVIE_TYPE}",
            headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(size)})
        return parse.listing_page(self._require_listing(root, section_id), section_id)

    def edit(self, section_id: int, rating_key: int, params: Mapping[str, str]) -> None:
        """ONE `PUT /library/sections/{sid}/all?type=1&id={rk}&<params>`. 404 → PlexNotFound."""
        args = {**params, "type": str(MOVIE_TYPE), "id": str(rating_key)}
        query = "&".join(f"{k}={quote(str(args[k]), safe='')}"
                         for k in sorted(args, key=str.lower))
        self._call("PUT", f"/library/sections/{section_id}/all?{query}", not_found=PlexNotFound)

    def selected_poster(self, rating_key: int) -> str:
        """ONE `GET /library/metadata/{rk}/posters`: the ratingKey of the poster selected on
        the item (`upload://posters/<sha1>` for an upload, an agent's or URL's otherwise), or
        '' when none is selected (Plex shows its generated thumbnail). The item's `thumb` URL
        cannot tell: it ends in `updatedAt`, which every edit changes. 404 → PlexNotFound."""
        root = self._call("GET", f"/library/metadata/{rating_key}/posters",
                          not_found=PlexNotFound)
        if root is None or root.tag != "MediaContainer":
            raise PlexSetupError(log.redact(
                f"Plex at {self._base} answered GET /library/metadata/{rating_key}/posters "
                "with something that is not Plex XML; no job was charged. Check that plex_url "
                "reaches Plex directly (not a proxy's login or error page)."))
        return parse.selected_poster(root)

    def upload_image(self, rating_key: int, kind: str, data: bytes) -> None:
        """`POST /library/metadata/{rk}/posters|arts` with the raw image bytes."""
        target = "posters" if kind == "poster" else "arts"
        self._call("POST", f"/library/metadata/{rating_key}/{target}", data=data,
                   not_found=PlexNotFound)

    def scan_folder(self, section_id: int, folder: str) -> None:
        """Ask Plex to scan one folder: `GET /library/sections/{id}/refresh?path=<folder>`."""
        self._call("GET", f"/library/sections/{section_id}/refresh?path={quote_plus(folder)}")


def _library_names(sections: Sequence[Section]) -> str:
    return ", ".join(f"'{s.title}' ({s.type})" for s in sections) or "none"
