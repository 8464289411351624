"""Translation of plexapi / requests failures into `plexsync.errors` classes.

The mapping (`translate`), for the request `what` (method and path, never the query):
- connection refused, timeouts, TLS failures, other request failures, 5xx and 429
  → `PlexServerDown` (retried);
- 401 (or plexapi's Unauthorized) → `PlexAuth`;
- 404 (or plexapi's NotFound) → `PlexNotFound` or `PlexBadRequest`: the caller says which;
- an answer showing plex_url is not a Plex server at all (a 404 or a body that is not Plex XML,
  where the caller asks for that check) → `ConfigError` naming the fix (`not_plex_message`);
- other 4xx, non-XML answers and anything else → `PlexBadRequest`.

The mapping is a table of foreign exception classes, most specific first (`_rules`), built on
first use: plexapi and requests are imported lazily, so importing this module is cheap.
Messages are redacted (`log.redact`, URLs in exception text replaced): the token never appears,
and callers raise the result `from None` so the foreign exception (whose text may hold a
tokenised URL) is not kept as its `__cause__`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from plexsync.core.log import log
from plexsync.errors import (
    ConfigError,
    PlexAuth,
    PlexBadRequest,
    PlexServerDown,
    PlexSyncError,
)


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


def _status_of(exc: BaseException, status: int = 0) -> int | None:
    """The HTTP status behind a failure: a `StatusError`'s own, else `status`, the answer the
    session saw (plex/session.py `last_status`), never read out of an exception's text."""
    if isinstance(exc, StatusError):
        return exc.status
    return status or None


def _is_not_found(exc: BaseException) -> bool:
    from plexapi.exceptions import NotFound

    return isinstance(exc, NotFound)


def _not_a_plex_answer(exc: BaseException, status: int) -> bool:
    """A 404, or a body that is not Plex XML: something other than Plex answered."""
    return (_status_of(exc, status) == 404 or _is_not_found(exc)
            or isinstance(exc, ET.ParseError | AttributeError))


@dataclass(frozen=True, slots=True)
class _Request:
    """The failed request, as its error message names it."""

    what: str                          # method and path, never the query
    where: str                         # " at <base url>" or ""
    not_found: type[PlexSyncError]     # what a 404 means to the caller
    status: int = 0                    # the answer's HTTP status (0 = none known)


_Rule = Callable[[BaseException, _Request], PlexSyncError]
_Row = tuple[type[BaseException] | tuple[type[BaseException], ...], _Rule]
_table: list[_Row] = []


def translate(exc: BaseException, what: str, not_found: type[PlexSyncError],
              base_url: str = "", *, not_plex: bool = False, status: int = 0) -> PlexSyncError:
    """Map a plexapi / requests failure of request `what` to a PlexSync error (redacted).

    With `not_plex`, an answer that shows plex_url is not a Plex server (404, not XML)
    is a ConfigError naming the fix. Otherwise the first row of the table whose class `exc`
    is an instance of decides (rows run most specific first); anything else is a
    `PlexBadRequest`. The caller raises the result `from None`: the foreign exception's text
    may hold the URL and its token, so it must not ride along as `__cause__`."""
    if not_plex and _not_a_plex_answer(exc, status):
        why = "404 Not Found" if _status_of(exc, status) == 404 or _is_not_found(exc) else \
            "an answer that is not Plex XML"
        return ConfigError(not_plex_message(base_url, what, why))
    request = _Request(what, f" at {base_url}" if base_url else "", not_found, status)
    rule = next((rule for cls, rule in _rules() if isinstance(exc, cls)), _unknown)
    err = rule(exc, request)
    redacted = type(err)(log.redact(str(err)))
    redacted.__dict__.update(err.__dict__)   # its flags (outage, transport) ride along
    return redacted


def _rules() -> list[_Row]:
    """Foreign exception class → its translation, most specific class first. Built on first
    use: requests and plexapi are not imported on the hook path. (Each message is spelled as
    a call of its class, so the troubleshooting guide's message check finds it.)"""
    if not _table:
        import requests.exceptions as rex
        from plexapi.exceptions import BadRequest, NotFound, Unauthorized

        _table.extend([
            (Unauthorized, _auth),            # a BadRequest subclass: before it
            (NotFound, _not_found),
            (StatusError, _by_status),
            (rex.SSLError, lambda exc, r: PlexServerDown(   # a ConnectionError: before it
                f"TLS to Plex{r.where} failed for {r.what} ({_short(exc)}); fix the "
                "certificate or set verify_tls to false.")),
            (rex.Timeout, lambda exc, r: PlexServerDown(    # ConnectTimeout: before the next
                f"Plex{r.where} did not answer {r.what} in time (timeout).", transport=True)),
            (rex.ConnectionError, lambda exc, r: PlexServerDown(
                f"cannot connect to Plex{r.where} for {r.what}; is Plex running and "
                "plex_url right?", transport=True)),
            (rex.RequestException, lambda exc, r: PlexServerDown(
                f"the request {r.what} to Plex{r.where} failed ({_short(exc)}).")),
            ((ET.ParseError, AttributeError), lambda exc, r: PlexBadRequest(  # plexapi, not XML
                f"Plex{r.where} answered {r.what} with something that is not Plex XML; is "
                "plex_url the address of a Plex Media Server?")),
            (BadRequest, _bad_request),
        ])
    return _table


def _auth(exc: BaseException, r: _Request) -> PlexSyncError:
    return PlexAuth(f"Plex{r.where} refused the token (401 Unauthorized) for {r.what}; check "
                    "plex_token in Settings → Plugins → PlexSync.")


def _not_found(exc: BaseException, r: _Request) -> PlexSyncError:
    return r.not_found(f"Plex answered 404 Not Found for {r.what}.")


def _by_status(exc: BaseException, r: _Request) -> PlexSyncError:
    """An HTTP status decides: 401, 404, 5xx and 429 (busy), any other 4xx."""
    status = _status_of(exc, r.status)
    if status == 401:
        return _auth(exc, r)
    if status == 404:
        return _not_found(exc, r)
    if status is not None and (status >= 500 or status == 429):
        busy = "is busy (429 Too Many Requests)" if status == 429 else f"failed ({status})"
        return PlexServerDown(f"Plex{r.where} {busy} for {r.what}; will retry.")
    return PlexBadRequest(f"Plex rejected {r.what} ({status}).")


def _bad_request(exc: BaseException, r: _Request) -> PlexSyncError:
    """plexapi's BadRequest: its status when its message starts with one."""
    if _status_of(exc, r.status) is not None:
        return _by_status(exc, r)
    return PlexBadRequest(f"plexapi refused {r.what}: {_short(exc)}")


def _unknown(exc: BaseException, r: _Request) -> PlexSyncError:
    return PlexBadRequest(f"{r.what} to Plex failed: {type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = re.sub(r"https?://\S+", "<url>", text[0] if text else type(exc).__name__)
    return log.redact(first)[:200]
