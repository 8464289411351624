"""The HTTP session PlexSync talks to Plex through, and its redirect policy.

Why: plexapi sends the Plex token as the `X-Plex-Token` header on every request, and
`requests` strips only `Authorization` when it follows a redirect to another host. A reverse
proxy (misconfigured or hostile) answering any request with `Location: http://other-host/...`
would be sent the user's token. So:

Invariants:
- A redirect is followed only to the SAME origin as plex_url (scheme, host and port, with
  http's 80 and https's 443 as the default ports): Plex, or the proxy in front of it, moving a
  read within the server plex_url names. Every other target (another host, another port,
  http → https) raises `PlexSetupError` before any request is built for it: nothing, the
  token included, is ever sent to another origin. This holds for every hop of a chain.
- A write (PUT, POST, DELETE) follows no redirect at all (`refuse_any_redirect`): `requests`
  would resend it as a GET, Plex would answer 200 and the edit would be lost while looking done
  (docs/reliability.md).
- Both refusals raise the one message of `redirect_refused`, which names the target without
  its query, fragment or credentials (a proxy may echo the token into the query), and is
  redacted. `PlexSetupError` stops the drain and charges no job.

How: `requests` reads every redirect's `Location` through `Session.get_redirect_target`
before it prepares the next request (`Session.resolve_redirects`, each hop), so `PlexSession`
refuses there. It imports `requests`; `plex.client` imports this module lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from plexsync.core.log import log
from plexsync.errors import PlexSetupError

WRITES = frozenset({"PUT", "POST", "DELETE"})
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


def redirect_refused(base: str, what: str, status: int, target: str) -> PlexSetupError:
    """The one error for a redirect PlexSync will not follow (a write's, or another origin's)."""
    return PlexSetupError(log.redact(
        f"Plex at {base} answered {what} with a redirect ({status}) to {target}; PlexSync "
        "does not follow it, so nothing was written, the token was not sent there and no job "
        "was charged. Set plex_url to the address that reaches Plex without a redirect (a "
        "proxy's https:// address, or Plex's own http://host:32400)."))


def refuse_any_redirect(base: str, what: str) -> Callable[..., None]:
    """A response hook for one write: any 3xx answer raises `redirect_refused`."""
    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.is_redirect or 300 <= response.status_code < 400:
            target = shown_target(response.headers.get("Location", ""), response.url)
            raise redirect_refused(base, what, response.status_code, target)
    return check


class PlexSession(requests.Session):
    """A `requests.Session` that follows redirects only within plex_url's origin."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self._origin = origin(self.base_url)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        location = super().get_redirect_target(resp)
        if location is None:
            return None
        method = (resp.request.method or "GET").upper() if resp.request else "GET"
        absolute = urljoin(resp.url, location)
        if method in WRITES or origin(absolute) != self._origin:
            raise redirect_refused(self.base_url, f"{method} {self._path(resp.url)}",
                                   resp.status_code, shown_target(location, resp.url))
        return location

    def _path(self, url: str) -> str:
        """The request's path as PlexSync names it (below plex_url's own path, no query)."""
        path = urlsplit(url).path or "/"
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix):]
        return path
