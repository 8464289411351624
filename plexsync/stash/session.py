"""The HTTP session PlexSync talks to Stash through, and how it gets into stashapi.

Why: stashapi sends Stash's `ApiKey` as a session header and the session cookie with no
domain, and `requests` strips neither on a redirect to another host: a proxy in front of
Stash answering with `Location: http://other-host/...` was sent both (a 302 on a GraphQL POST
is re-sent there as a GET, a 307/308 as the POST with its body).

Invariants:
- Every request stashapi or `StashClient.download` makes goes through a `StashSession`
  (`plexsync.core.redirects.SameOriginRedirects`): a GET follows a redirect only within the
  origin of the address Stash handed us (server_connection's scheme, host and port); a POST
  (every GraphQL request) follows none. A refusal raises `StashSetupError` (a ConfigError:
  the drain stops and charges no job) with one redacted line naming the request, the
  status and the target without its query.
- The session is in place BEFORE stashapi's constructor sends its first request (its version
  query): `GuardedInterface` holds it in the `s` attribute stashapi's `GQLWrapper.__init__`
  assigns, taking over whatever that plain session was given. A stashapi release that no
  longer assigns `s` fails loudly (`StashSetupError` after construction, and
  tests/stash/test_session.py), never by silently talking through an unguarded session.
- Every request without an explicit timeout gets `REQUEST_TIMEOUT` (stashapi posts without
  one; a hung Stash must not hang a drain forever), the constructor's requests included.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import requests

from plexsync.core.log import log
from plexsync.core.redirects import WRITES, Refusal, SameOriginRedirects
from plexsync.errors import StashSetupError

REQUEST_TIMEOUT = (5.0, 60.0)
_SESSION = "_plexsync_session"
_ADOPTED = "_plexsync_adopted"


def redirect_refused(refusal: Refusal) -> StashSetupError:
    """The one error for a redirect PlexSync will not follow on its way to Stash."""
    return StashSetupError(log.redact(
        f"Stash at {refusal.base_url} answered {refusal.what} with a redirect "
        f"({refusal.status}) to {refusal.target}; PlexSync does not follow it, so the API key "
        "and session cookie were not sent there and no job was charged. Make Stash's own "
        "address reach Stash without a redirect (Stash's host and port settings, or the "
        "CLI's --stash-url), not a proxy that forwards elsewhere."))


class StashSession(SameOriginRedirects, requests.Session):
    """A `requests.Session` for one Stash: same-origin GET redirects only, none for a POST;
    a default timeout on every request."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, redirect_refused, follow_none=WRITES)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if len(args) < 7:   # `timeout` is request()'s 9th positional parameter
            kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def stash_interface(conn: dict[str, Any], base_url: str, *, verify_tls: bool,
                    on_response: Callable[..., Any] | None = None) -> Any:
    """stashapi's `StashInterface` for `conn`, talking only through a `StashSession` for
    `base_url` (the origin redirects may stay within), with `on_response` as a response hook
    from its first request on (the constructor's version query: a refusal there is told by
    its status). Raises what its constructor raises (`StashSetupError` for a refused
    redirect), or `StashSetupError` if this stashapi does not use the session it was given."""
    session = StashSession(base_url)
    if on_response is not None:
        session.hooks["response"].append(on_response)
    iface = _guarded_class()(conn, session, verify_ssl=verify_tls)
    if not getattr(iface, _ADOPTED, False) or iface.s is not session:
        raise StashSetupError(
            "this stashapp-tools release no longer sends its requests through the session "
            "PlexSync hands it (its s attribute), so PlexSync could not refuse a redirect "
            "from Stash; install the stashapp-tools version PlexSync's requirements.txt names.")
    return iface


@cache
def _guarded_class() -> type:
    from stashapi.stashapp import StashInterface

    class GuardedInterface(StashInterface):  # type: ignore[misc]
        """`StashInterface` whose `s` (its `requests.Session`) is always our StashSession."""

        def __init__(self, conn: dict[str, Any], session: StashSession, **kwargs: Any) -> None:
            self.__dict__[_SESSION] = session
            super().__init__(conn, **kwargs)

        @property
        def s(self) -> StashSession:
            session: StashSession = self.__dict__[_SESSION]
            return session

        @s.setter
        def s(self, plain: Any) -> None:
            # GQLWrapper.__init__ assigns a fresh `requests.session()` (headers may follow on
            # it, through this property, i.e. on ours): keep what it carries, drop it.
            session: StashSession = self.__dict__[_SESSION]
            if plain is not session:
                session.headers.update(plain.headers)
                session.cookies.update(plain.cookies)
                session.verify = plain.verify
                plain.close()
            self.__dict__[_ADOPTED] = True

    return GuardedInterface
