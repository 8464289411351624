"""Translation of plexapi / requests failures into `plexsync.errors` classes.

The mapping (`translate`), for the request `what` (method and path, never the query):
- connection refused, timeouts, TLS failures, other request failures, 5xx and 429
  → `PlexServerDown` (retried);
- 401 (or plexapi's Unauthorized) → `PlexAuth`;
- 404 (or plexapi's NotFound) → `PlexNotFound` or `PlexBadRequest`: the caller says which;
- an answer showing plex_url is not a Plex server at all (a 404 or a body that is not Plex XML,
  where the caller asks for that check) → `ConfigError` naming the fix (`not_plex_message`);
- other 4xx, non-XML answers and anything else → `PlexBadRequest`.

Messages are redacted (`log.redact`, URLs in exception text replaced): the token never appears.
plexapi and requests are imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from plexsync.core.log import log
from plexsync.errors import (
    ConfigError,
    PlexAuth,
    PlexBadRequest,
    PlexServerDown,
    PlexSyncError,
)

_STATUS = re.compile(r"^\((\d{3})\)")


class StatusError(Exception):
    """A non-200 answer to a request sent without plexapi (the identity probe)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"({status})")
        self.status = status


def not_plex_message(base_url: str, what: str, why: str) -> str:
    """The one-line fix for a plex_url that does not point at a Plex Media Server."""
    return log.redact(
        f"plex_url {base_url} is not a Plex Media Server ({why} for {what}); set plex_url in "
        "Settings → Plugins → PlexSync to your Plex server's address, for example "
        "http://192.168.1.10:32400 (Plex listens on port 32400).")


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a plexapi BadRequest or a `StatusError`, when known."""
    if isinstance(exc, StatusError):
        return exc.status
    from plexapi.exceptions import BadRequest

    if isinstance(exc, BadRequest):
        m = _STATUS.match(str(exc))
        return int(m.group(1)) if m else None
    return None


def _is_not_found(exc: BaseException) -> bool:
    from plexapi.exceptions import NotFound

    return isinstance(exc, NotFound)


def _not_a_plex_answer(exc: BaseException) -> bool:
    """A 404, or a body that is not Plex XML: something other than Plex answered."""
    return (_status_of(exc) == 404 or _is_not_found(exc)
            or isinstance(exc, ET.ParseError | AttributeError))


def translate(exc: BaseException, what: str, not_found: type[PlexSyncError],
              base_url: str = "", *, not_plex: bool = False) -> PlexSyncError:
    """Map a plexapi / requests failure of request `what` to a PlexSync error (redacted).

    With `not_plex`, an answer that shows plex_url is not a Plex server (404, not XML)
    is a ConfigError naming the fix."""
    if not_plex and _not_a_plex_answer(exc):
        why = "404 Not Found" if _status_of(exc) == 404 or _is_not_found(exc) else \
            "an answer that is not Plex XML"
        return ConfigError(not_plex_message(base_url, what, why))
    import requests
    from plexapi.exceptions import BadRequest, NotFound, Unauthorized

    status = _status_of(exc)
    where = f" at {base_url}" if base_url else ""
    if isinstance(exc, Unauthorized) or status == 401:
        err: PlexSyncError = PlexAuth(
            f"Plex{where} refused the token (401 Unauthorized) for {what}; check plex_token in "
            "Settings → Plugins → PlexSync.")
    elif isinstance(exc, NotFound) or status == 404:
        err = not_found(f"Plex answered 404 Not Found for {what}.")
    elif status is not None and (status >= 500 or status == 429):
        busy = "is busy (429 Too Many Requests)" if status == 429 else f"failed ({status})"
        err = PlexServerDown(f"Plex{where} {busy} for {what}; will retry.")
    elif status is not None:
        err = PlexBadRequest(f"Plex rejected {what} ({status}).")
    elif isinstance(exc, requests.exceptions.SSLError):
        err = PlexServerDown(f"TLS to Plex{where} failed for {what} ({_short(exc)}); fix the "
                             "certificate or set verify_tls to false.")
    elif isinstance(exc, requests.exceptions.Timeout):
        err = PlexServerDown(f"Plex{where} did not answer {what} in time (timeout).")
    elif isinstance(exc, requests.exceptions.ConnectionError):
        err = PlexServerDown(f"cannot connect to Plex{where} for {what}; is Plex running and "
                             "plex_url right?")
    elif isinstance(exc, requests.exceptions.RequestException):
        err = PlexServerDown(f"the request {what} to Plex{where} failed ({_short(exc)}).")
    elif isinstance(exc, ET.ParseError | AttributeError):
        err = PlexBadRequest(f"Plex{where} answered {what} with something that is not Plex XML; "
                             "is plex_url the address of a Plex Media Server?")
    elif isinstance(exc, BadRequest):
        err = PlexBadRequest(f"plexapi refused {what}: {_short(exc)}")
    else:
        err = PlexBadRequest(f"{what} to Plex failed: {type(exc).__name__}: {_short(exc)}")
    return type(err)(log.redact(str(err)))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = re.sub(r"https?://\S+", "<url>", text[0] if text else type(exc).__name__)
    return log.redact(first)[:200]
