"""Foreign failures (requests, plexapi, XML) → our error classes, with messages that name the
request and the fix, and never the token."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
from plexapi.exceptions import BadRequest, NotFound, TwoFactorRequired, Unauthorized

from plexsync.core.log import log
from plexsync.errors import (
    ConfigError,
    PlexAuth,
    PlexBadRequest,
    PlexNotFound,
    PlexServerDown,
    PlexSyncError,
)
from plexsync.plex.errors import StatusError, translate

BASE = "http://plex.local:32400"
WHAT = "PUT /library/sections/1/all"


def tr(exc: BaseException | tuple[BaseException, int],
       not_found: type[PlexSyncError] = PlexNotFound, not_plex: bool = False) -> PlexSyncError:
    """`exc`, or (exc, the HTTP status the session saw for its answer): plexapi's BadRequest
    is classified by that status, never by its text."""
    failure, status = exc if isinstance(exc, tuple) else (exc, 0)
    return translate(failure, WHAT, not_found, BASE, not_plex=not_plex, status=status)


@pytest.mark.parametrize(("exc", "cls", "words"), [
    (Unauthorized("(401) unauthorized; http://x"), PlexAuth, "refused the token"),
    (TwoFactorRequired("two factor"), PlexAuth, "check plex_token"),
    ((BadRequest("unauthorized"), 401), PlexAuth, "401 Unauthorized"),
    (StatusError(401), PlexAuth, "401 Unauthorized"),
    (NotFound("(404) not_found"), PlexNotFound, "404 Not Found"),
    ((BadRequest("not_found"), 404), PlexNotFound, "404 Not Found"),
    (StatusError(404), PlexNotFound, "404 Not Found"),
    ((BadRequest("internal_server_error"), 500), PlexServerDown, "failed (500)"),
    (StatusError(503), PlexServerDown, "failed (503) for PUT"),
    ((BadRequest("too_many_requests"), 429), PlexServerDown, "busy (429 Too Many Requests)"),
    ((BadRequest("bad_request"), 400), PlexBadRequest, "rejected"),
    (StatusError(403), PlexBadRequest, "rejected PUT /library/sections/1/all (403)"),
    (requests.exceptions.SSLError("cert"), PlexServerDown, "set verify_tls to false"),
    (requests.exceptions.ConnectTimeout("slow"), PlexServerDown, "in time (timeout)"),
    (requests.exceptions.ReadTimeout("slow"), PlexServerDown, "in time (timeout)"),
    (requests.exceptions.ConnectionError("refused"), PlexServerDown, "cannot connect"),
    (requests.exceptions.TooManyRedirects("loop"), PlexServerDown, "failed (loop)"),
    (ET.ParseError("junk"), PlexBadRequest, "not Plex XML"),
    (AttributeError("no attr"), PlexBadRequest, "not Plex XML"),
    (BadRequest("odd"), PlexBadRequest, "plexapi refused"),
    (BadRequest("(503) a message that names a status"), PlexBadRequest, "plexapi refused"),
    (ValueError("strange"), PlexBadRequest, "ValueError: strange"),
])
def test_each_foreign_failure_becomes_its_plexsync_class(
        exc: BaseException | tuple[BaseException, int], cls: type[PlexSyncError],
        words: str) -> None:
    err = tr(exc)
    assert type(err) is cls
    assert words in str(err) and WHAT in str(err)


def test_a_404_is_whichever_class_the_caller_names() -> None:
    assert type(tr(NotFound("(404)"), not_found=PlexBadRequest)) is PlexBadRequest
    assert type(tr(StatusError(404), not_found=PlexBadRequest)) is PlexBadRequest


@pytest.mark.parametrize("exc", [StatusError(404), NotFound("(404)"), (BadRequest("x"), 404),
                                 ET.ParseError("junk"), AttributeError("x")])
def test_an_answer_that_is_not_plex_is_a_config_error_when_the_caller_asks(
        exc: BaseException | tuple[BaseException, int]) -> None:
    err = tr(exc, not_plex=True)
    assert type(err) is ConfigError
    assert "is not a Plex Media Server" in str(err) and "plex_url" in str(err)


def test_without_the_not_plex_check_a_404_stays_a_404() -> None:
    assert type(tr(StatusError(404))) is PlexNotFound


def test_a_status_or_transport_failure_is_not_mistaken_for_not_plex() -> None:
    assert type(tr(StatusError(500), not_plex=True)) is PlexServerDown
    assert type(tr(requests.exceptions.ConnectionError("x"), not_plex=True)) is PlexServerDown


def test_the_token_never_appears_in_the_message() -> None:
    log.add_secret("sekrit-token-123")
    exc = requests.exceptions.ConnectionError(
        f"{BASE}/library?X-Plex-Token=sekrit-token-123 refused")
    for err in (tr(exc), tr(BadRequest("plexapi says sekrit-token-123")),
                tr(ValueError("X-Plex-Token=sekrit-token-123"))):
        assert "sekrit-token-123" not in str(err)
        assert err.__cause__ is None


def test_a_long_foreign_message_is_cut_to_its_first_line() -> None:
    err = tr(requests.exceptions.RequestException("first line\nsecond " + "x" * 500))
    assert "first line" in str(err) and "second" not in str(err)


def test_the_client_raises_the_translation_without_the_foreign_cause(tmp_path: object) -> None:
    from plexsync.core.settings import Settings
    from plexsync.plex.client import PlexClient

    client = PlexClient(Settings(plex_url=BASE, plex_token="sekrit-token-456"), str(tmp_path))

    def fail() -> None:
        raise requests.exceptions.ConnectionError(f"{BASE}/?X-Plex-Token=sekrit-token-456")

    with pytest.raises(PlexServerDown) as raised:
        client._guard("GET /", PlexNotFound, fail)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "sekrit-token-456" not in str(raised.value)
