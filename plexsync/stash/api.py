"""Stash over GraphQL, for tasks (never the hook path: this imports stashapp-tools).

Wraps `stashapi.stashapp.StashInterface`, built lazily from the `server_connection` Stash wrote
on stdin (session cookie) or from the CLI's URL + API key. Every failure (unreachable, HTTP
error, GraphQL error) surfaces as `StashError` with one readable sentence, except a redirect
PlexSync refuses (stash/session.py: the key and cookie never leave Stash's origin), which is
`StashSetupError` (a ConfigError: the drain stops, no job is charged). stashapi's own log
lines go through PlexSync's logger, so they are redacted like ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from plexsync import PLUGIN_ID
from plexsync.core.http_env import pin_environment
from plexsync.core.log import log
from plexsync.core.redirects import same_origin, shown_target
from plexsync.errors import ConfigError, StashError
from plexsync.stash import documents as gql
from plexsync.stash.session import REQUEST_TIMEOUT, StashSession, stash_interface

FILTER_CHUNK = 50
MAX_IMAGE_BYTES = 50 * 1024 * 1024
_CHUNK = 1 << 16


class StashClient:
    def __init__(self, server_connection: Mapping[str, Any], *, verify_tls: bool = True) -> None:
        self._conn = dict(server_connection)
        self._verify = verify_tls
        self._iface: Any = None
        self._login: tuple[str, bool] | None = None   # api_key(), asked once
        self._status = 0                               # HTTP status of the last answer
        cookie = self._conn.get("SessionCookie") or {}
        log.add_secret(cookie.get("Value") if isinstance(cookie, Mapping) else None)
        log.add_secret(self._conn.get("ApiKey"))

    @property
    def base_url(self) -> str:
        scheme = self._conn.get("Scheme") or "http"
        host = self._conn.get("Host") or "localhost"
        host = "127.0.0.1" if host == "0.0.0.0" else host
        return f"{scheme}://{host}:{self._conn.get('Port') or 9999}"

    def _interface(self) -> Any:
        if self._iface is None:
            conn = dict(self._conn, Logger=log)
            self._status = 0
            try:
                iface = stash_interface(conn, self.base_url, verify_tls=self._verify,
                                        on_response=self._note_status)
            except ConfigError:
                raise
            except Exception as exc:  # stashapi raises bare Exception / requests errors
                if self._status in (401, 403):   # Stash is there; it refused the credentials
                    raise self._failure(exc) from None
                raise StashError(
                    f"could not reach Stash at {self.base_url} ({_short(exc)}); is Stash running?",
                    unreachable=True) from None
            pin_environment(iface.s, self.base_url)
            self._iface = iface
        return self._iface

    def call(
        self, document: str, variables: Mapping[str, Any] | None = None, *, quiet: bool = False
    ) -> dict[str, Any]:
        """Send one GraphQL document. `quiet`: stashapi's own error lines for this request go
        to debug level (the caller expects the failure and handles it)."""
        iface = self._interface()
        if quiet:
            iface.log = _QuietLog()
        self._status = 0
        try:
            data = iface.call_GQL(document, dict(variables or {}))
        except ConfigError:
            raise
        except Exception as exc:
            raise self._failure(exc) from None
        finally:
            iface.log = log
        if not isinstance(data, dict):
            raise StashError("Stash answered a GraphQL request with no data.")
        return data

    def _note_status(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """A response hook: the HTTP status of the last answer (stashapi raises a bare
        Exception for any failure; the status, not its message, says which failure)."""
        self._status = int(response.status_code)

    def _failure(self, exc: BaseException) -> StashError:
        """The StashError for a failed GraphQL request, classified by exception type and
        HTTP status: Stash away or refusing the credentials is `unreachable`."""
        import requests

        if self._status in (401, 403):
            return StashError(
                f"Stash refused PlexSync's credentials (HTTP {self._status}); nothing was "
                "charged. Run the task again from Stash (each run brings a fresh session), and "
                "if Stash has a login, generate an API key in Settings → Security so the "
                "wake-up timer has one that does not expire.", unreachable=True)
        if isinstance(exc, requests.RequestException) or self._status >= 500:
            return StashError(f"Stash did not answer at {self.base_url} ({_short(exc)}); the "
                              "queued jobs wait, nothing was charged.", unreachable=True)
        return StashError(f"Stash GraphQL request failed: {_short(exc)}")

    def plugin_settings(self) -> dict[str, Any]:
        data = self.call(gql.PLUGIN_CONFIG, {"ids": [PLUGIN_ID]})
        plugins = (data.get("configuration") or {}).get("plugins") or {}
        raw = plugins.get(PLUGIN_ID) or {}
        return dict(raw) if isinstance(raw, Mapping) else {}

    def api_key(self) -> tuple[str, bool]:
        """(Stash's API key, whether Stash has a login), asked once per client. The key is ""
        when none was generated (Settings → Security). Raises StashError when Stash cannot be
        asked (and asks again next time)."""
        if self._login is None:
            data = self.call(gql.API_KEY, quiet=True)
            general = (data.get("configuration") or {}).get("general") or {}
            if not isinstance(general, Mapping):
                general = {}
            key = general.get("apiKey")
            key = key if isinstance(key, str) else ""
            log.add_secret(key or None)
            self._login = (key, bool(general.get("username")))
        return self._login

    def configure_plugin(self, values: Mapping[str, Any]) -> None:
        """Replace PlexSync's whole settings map (Stash's `configurePlugin` semantics)."""
        self.call(gql.CONFIGURE_PLUGIN, {"plugin_id": PLUGIN_ID, "input": dict(values)})

    def scenes_by_id(self, scene_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """One query for a whole batch; scenes deleted in Stash are simply absent.

        Stash's `findScenes(ids:)` fails the whole query when one id no longer exists; then
        the batch is asked again through an OR chain of id filters (chunks of
        `FILTER_CHUNK`), which leaves deleted scenes out. If that fails too, StashError.
        """
        if not scene_ids:
            return {}
        try:
            data = self.call(
                gql.FIND_SCENES_BY_ID,
                {"ids": [str(i) for i in scene_ids], "filter": {"per_page": -1}},
                quiet=True,
            )
        except StashError:
            log.debug("findScenes(ids) failed; asking again by filter (a scene may be deleted)")
            found: dict[int, dict[str, Any]] = {}
            ids = list(dict.fromkeys(scene_ids))
            for start in range(0, len(ids), FILTER_CHUNK):
                found.update(self._scenes_by_filter(ids[start:start + FILTER_CHUNK]))
            return found
        scenes = (data.get("findScenes") or {}).get("scenes") or []
        return {int(s["id"]): s for s in scenes}

    def _scenes_by_filter(self, scene_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        scene_filter: dict[str, Any] | None = None
        for scene_id in reversed(scene_ids):
            node: dict[str, Any] = {"id": {"value": int(scene_id), "modifier": "EQUALS"}}
            if scene_filter is not None:
                node["OR"] = scene_filter
            scene_filter = node
        data = self.call(gql.FIND_SCENES_BY_FILTER,
                         {"scene_filter": scene_filter, "filter": {"per_page": -1}})
        scenes = (data.get("findScenes") or {}).get("scenes") or []
        return {int(s["id"]): s for s in scenes}

    def scenes_by_path(self, paths: Sequence[str], *,
                       modifier: str = "EQUALS") -> dict[int, list[tuple[str, int]]]:
        """The scenes having a file at one of `paths` (Stash's own path text; with
        `modifier="INCLUDES"`, a file whose path contains one of them): scene id → its files
        (path, size). Chunks of `FILTER_CHUNK` per query; exact comparison is the caller's
        (Stash's EQUALS is an SQL LIKE)."""
        found: dict[int, list[tuple[str, int]]] = {}
        unique = list(dict.fromkeys(paths))
        for start in range(0, len(unique), FILTER_CHUNK):
            scene_filter: dict[str, Any] | None = None
            for path in reversed(unique[start:start + FILTER_CHUNK]):
                node: dict[str, Any] = {"path": {"value": path, "modifier": modifier}}
                if scene_filter is not None:
                    node["OR"] = scene_filter
                scene_filter = node
            data = self.call(gql.SCENES_BY_PATH,
                             {"scene_filter": scene_filter, "filter": {"per_page": -1}})
            for scene in (data.get("findScenes") or {}).get("scenes") or []:
                found[int(scene["id"])] = [(str(f.get("path") or ""), int(f.get("size") or 0))
                                           for f in scene.get("files") or []]
        return found

    def scene_id_page(
        self, scene_filter: Mapping[str, Any] | None, page: int, per_page: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """One page of `{id, updated_at}` in stable id order, plus the total count."""
        data = self.call(
            gql.SCENE_ID_PAGE,
            {
                "scene_filter": dict(scene_filter or {}),
                "filter": {"page": page, "per_page": per_page, "sort": "id", "direction": "ASC"},
            },
        )
        found = data.get("findScenes") or {}
        return int(found.get("count") or 0), list(found.get("scenes") or [])

    def reconcile_page(
        self, scene_filter: Mapping[str, Any] | None, after_id: int, per_page: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """Scenes with id > `after_id` (and `scene_filter`), id order, `per_page` of them,
        with the fields gap detection needs; plus how many such scenes remain in all.
        Keyed by id, not page number, so scenes added or deleted meanwhile shift nothing."""
        node: dict[str, Any] = {"id": {"value": int(after_id), "modifier": "GREATER_THAN"}}
        if scene_filter:
            node["AND"] = dict(scene_filter)
        data = self.call(
            gql.RECONCILE_SCENE_PAGE,
            {"scene_filter": node,
             "filter": {"page": 1, "per_page": per_page, "sort": "id", "direction": "ASC"}},
        )
        found = data.get("findScenes") or {}
        return int(found.get("count") or 0), list(found.get("scenes") or [])

    def play_state(self, scene_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Each scene's `rating100`, `resume_time` and `play_history` (RFC3339 texts), by an
        OR chain of id filters (`FILTER_CHUNK` per query; a deleted scene is simply absent)."""
        found: dict[int, dict[str, Any]] = {}
        ids = list(dict.fromkeys(int(i) for i in scene_ids))
        for start in range(0, len(ids), FILTER_CHUNK):
            scene_filter: dict[str, Any] | None = None
            for scene_id in reversed(ids[start:start + FILTER_CHUNK]):
                node: dict[str, Any] = {"id": {"value": scene_id, "modifier": "EQUALS"}}
                if scene_filter is not None:
                    node["OR"] = scene_filter
                scene_filter = node
            data = self.call(gql.SCENE_PLAY_STATE,
                             {"scene_filter": scene_filter, "filter": {"per_page": -1}})
            for scene in (data.get("findScenes") or {}).get("scenes") or []:
                found[int(scene["id"])] = scene
        return found

    def add_plays(self, scene_id: int, times: Sequence[str]) -> None:
        """`sceneAddPlay`: one play-history entry per RFC3339 time (Stash adds duplicates)."""
        self.call(gql.SCENE_ADD_PLAY, {"id": str(scene_id), "times": list(times)})

    def save_resume_time(self, scene_id: int, seconds: float) -> None:
        """`sceneSaveActivity`: the scene's resume point (0 clears it); no play duration."""
        self.call(gql.SCENE_SAVE_ACTIVITY, {"id": str(scene_id), "resume_time": float(seconds)})

    def set_rating(self, scene_id: int, rating100: int) -> None:
        """`sceneUpdate` of `rating100` alone (Stash runs Scene.Update.Post hooks for it)."""
        self.call(gql.SCENE_SET_RATING, {"input": {"id": str(scene_id),
                                                   "rating100": int(rating100)}})

    def download(self, url: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
        """Fetch a screenshot. Stash's cookie / API key go only to Stash's own origin
        (`base_url`): a URL on another origin (Stash's external host setting, or a proxy's
        Host header, names it) is fetched with no credentials at all, through a session of its
        own. Either way a redirect is followed only within the URL's origin (else
        StashSetupError), and decoded bytes are counted as they stream: more than `max_bytes`
        (a gzip bomb included) stops the download with StashError."""
        own = same_origin(url, self.base_url)
        session = self._interface().s if own else _anonymous_session(url)
        try:
            response = session.get(url, timeout=REQUEST_TIMEOUT, stream=True)
            with response:
                if response.status_code != 200:
                    if own:
                        raise StashError(f"Stash answered {response.status_code} for an image "
                                         "download.")
                    raise StashError(
                        f"{shown_target(url, url)} answered {response.status_code} for a "
                        f"screenshot download; it is not Stash's own address ({self.base_url}), "
                        "so PlexSync sent it no API key or session cookie. Clear Stash's "
                        "external host setting, or make it Stash's own address.")
                data = _read_capped(response, max_bytes)
        except (StashError, ConfigError):
            raise
        except Exception as exc:
            raise StashError(f"image download from Stash failed: {_short(exc)}") from None
        finally:
            if not own:
                session.close()
        return data


def _anonymous_session(url: str) -> StashSession:
    """A session for another origin: no cookie, no API key; redirects within that origin."""
    base = urlsplit(url)
    session = StashSession(f"{base.scheme}://{base.netloc}")
    pin_environment(session, session.base_url)
    return session


def _read_capped(response: Any, max_bytes: int) -> bytes:
    """The decoded body, counted chunk by chunk: never more than `max_bytes` plus one chunk
    is held (urllib3 >= 2.6 also bounds what one chunk decompresses; requirements.txt)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.raw.stream(_CHUNK, decode_content=True):
        size += len(chunk)
        if size > max_bytes:
            raise StashError(f"image from Stash is larger than {max_bytes // (1024 * 1024)} MiB.")
        chunks.append(chunk)
    return b"".join(chunks)


class _QuietLog:
    """Stands in for the logger stashapi writes to, demoting its error lines to debug."""

    def debug(self, message: Any) -> None:
        log.debug(f"stashapi: {message}")

    error = warning = info = trace = debug


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return log.redact(text[0] if text else type(exc).__name__)[:300]
