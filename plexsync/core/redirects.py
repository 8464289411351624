"""Following a redirect only within one origin: the policy of every HTTP session PlexSync
opens (Plex's in plex/session.py, Stash's in stash/session.py).

Why: `requests` strips only `Authorization` when it follows a redirect to another host.
plexapi sends the Plex token as the `X-Plex-Token` header; stashapi sends Stash's `ApiKey`
header and the session cookie (set with no domain, so it goes to every host). A reverse
proxy (misconfigured or hostile) answering with `Location: http://other-host/...` would be
sent them all.

Invariants:
- A session built on `SameOriginRedirects` (`class S(SameOriginRedirects, requests.Session)`,
  as plex/session.py and stash/session.py do) with `(base_url, refused)` follows a redirect
  only to the SAME origin as base_url (scheme, host and port, with http's 80 and https's 443
  as the default ports). Every other target raises `refused(Refusal)` before any request is
  built for it: nothing, credentials included, is ever sent to another origin. This holds for
  every hop of a chain.
- A request whose method is in `follow_none` (by default the writes: PUT, POST, DELETE,
  PATCH) follows no redirect at all, not even within the origin: `requests` would resend a
  301/302/303 as a GET (the write lost while looking done) and a 307/308 with its body.
- `Refusal.target` is the redirect target fit for a log line: absolute, without query,
  fragment or credentials (a proxy may echo a token into the query). The caller's factory
  writes the message (naming its own setting) and redacts it.

How: `requests` reads every redirect's `Location` through `Session.get_redirect_target`
before it prepares the next request (`Session.resolve_redirects`, each hop; also for
`allow_redirects=False`, which asks it for `Response.next`), so the session refuses there.

Core stays light: this module imports neither `requests` nor `urllib3` at import time (urllib3's
URL parser is imported when a URL is first compared). The `requests.Session` the policy is
mixed into is named where it is used: plex/session.py and stash/session.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

    _Session = requests.Session
else:   # at run time the policy is a plain mixin; the caller names requests.Session after it
    _Session = object

WRITES = frozenset({"PUT", "POST", "DELETE", "PATCH"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute URL, lower-cased, default port filled in; None
    when the URL names no host, its port is not a number, or the two URL parsers a `requests`
    install may connect with disagree about it.

    Why two: `requests` 2.32+ picks the connection from the standard library's `urlsplit`,
    older releases from urllib3's `parse_url` (Stash users bring their own), and the two read
    some URLs differently: `http://evil.example\\@plex.lan:32400/` is plex.lan to one and
    evil.example to the other. A URL is only ever "same origin" when both agree."""
    import urllib3.util

    try:
        parts = urlsplit(url)
        other = urllib3.util.parse_url(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:   # urllib3's LocationParseError is a ValueError too
        return None
    host = (parts.hostname or "").lower()
    seen = ((other.scheme or "").lower(), (other.host or "").lower().strip("[]"),
            other.port or _DEFAULT_PORTS.get((other.scheme or "").lower(), 0))
    return (scheme, host, port) if host and seen == (scheme, host, port) else None


def same_origin(url: str, base_url: str) -> bool:
    """Whether `url` (absolute) lies in `base_url`'s origin, as both URL parsers read it."""
    mine = origin(base_url)
    return mine is not None and origin(url) == mine


def shown_target(location: str, base: str) -> str:
    """A redirect target fit for the log: absolute, without query, fragment or credentials."""
    absolute = urljoin(base, location)
    try:
        parts = urlsplit(absolute)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable Location)"
    if not host:
        return "(no Location)"
    if origin(absolute) is None:
        return "(an ambiguous Location)"   # the URL parsers disagree: naming either misleads
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}"


def path_below(url: str, base_url: str) -> str:
    """`url`'s path as PlexSync names a request: below base_url's own path, no query."""
    path = urlsplit(url).path or "/"
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    return path


@dataclass(frozen=True)
class Refusal:
    """One redirect a `SameOriginRedirects` session will not follow, for an error message."""

    base_url: str
    method: str
    path: str       # the refused request's path, below base_url's own (`path_below`)
    status: int
    target: str     # `shown_target`: no query, fragment or credentials

    @property
    def what(self) -> str:
        return f"{self.method} {self.path}"


RefusalFactory = Callable[[Refusal], Exception]


def refusal_of(response: requests.Response, base_url: str) -> Refusal:
    """The `Refusal` describing redirect answer `response` to a request under `base_url`."""
    request = response.request
    method = (request.method or "GET").upper() if request is not None else "GET"
    return Refusal(base_url, method, path_below(response.url, base_url), response.status_code,
                   shown_target(response.headers.get("Location", ""), response.url))


class SameOriginRedirects(_Session):
    """Mixed in before `requests.Session`: follow redirects only within `base_url`'s origin,
    and none for a method in `follow_none`; a refused redirect raises `refused(Refusal)`."""

    def __init__(self, base_url: str, refused: RefusalFactory, *,
                 follow_none: frozenset[str] = WRITES) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.refused = refused
        self.follow_none = follow_none

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        location = super().get_redirect_target(resp)
        if location is None:
            return None
        refusal = refusal_of(resp, self.base_url)
        if refusal.method in self.follow_none or \
                not same_origin(urljoin(resp.url, location), self.base_url):
            raise self.refused(refusal)
        return location
