"""Hostile answers for the fake Plex: what a reverse proxy, a captive portal or a dying link
does to real Plex traffic (see ``FakePlex.hostile``).

Each `Rule` matches requests by method and path (a regular expression, full match) and answers
up to `times` of them (None: all) in one of these ways, standing in for the real answer:
- ``redirect``: `status` (301/302/303/307/308) with ``Location`` = the same URL on the same
  server plus ``proxied=1`` (a proxy sending the client elsewhere). Requests carrying
  ``proxied=1`` are never hostile, so following the redirect reaches the real route: a
  redirected PUT followed as a GET gets the listing's 200, exactly the trap of a real proxy.
  With `to` (a base URL such as another FakePlex's ``url``) the Location points at that
  other origin instead: a misconfigured or hostile proxy sending the client, and whatever
  headers it would resend (the token), to another host.
- ``html``: `status` (default 200) with an HTML error page (a proxy's or portal's page);
- ``empty``: `status` (default 200) with an empty body;
- ``status``: a bare error `status` (403 from an access rule, 502/503 from a proxy, ...);
- ``truncate``: the real answer cut to its first half (a connection dropped mid-body);
- ``reset``: the connection is closed without an answer (the client sees a reset);
- ``slow``: the real answer after `seconds` (past the client's read timeout).

Thread-safe: the fake serves requests on several threads.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from testkit.plex_http import HTML, Request, Response

Kind = Literal["redirect", "html", "empty", "status", "truncate", "reset", "slow"]
PROXY_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Proxy</h1>"
              b"<p>Please sign in to continue.</p></body></html>")
RESET = Response(status=0)   # sentinel: close the connection without answering


@dataclass
class Rule:
    kind: Kind
    method: str = "*"              # HTTP method, or "*" for any
    path: str = ".*"               # regular expression over the decoded path
    status: int = 0                # 0: the kind's default
    times: int | None = None       # how many requests it answers (None: every one)
    seconds: float = 0.0           # for "slow"
    to: str = ""                   # for "redirect": the target base URL ("" = this server)
    hits: int = 0

    def matches(self, req: Request) -> bool:
        return ((self.method == "*" or self.method == req.method)
                and re.fullmatch(self.path, req.path) is not None
                and (self.times is None or self.hits < self.times))


class HostileAnswers:
    """The fake's rule list; `answer` returns the hostile response, or the real one."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self.base_url = ""            # set by FakePlex when it starts (for Location)
        self.served = 0               # hostile answers given so far

    def add(self, kind: Kind, *, method: str = "*", path: str = ".*", status: int = 0,
            times: int | None = None, seconds: float = 0.0, to: str = "") -> Rule:
        rule = Rule(kind, method.upper(), path, status, times, seconds, to.rstrip("/"))
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take(self, req: Request) -> Rule | None:
        if req.query.get("proxied") == "1":
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(req):
                    rule.hits += 1
                    self.served += 1
                    return rule
        return None

    def answer(self, req: Request, real: Callable[[], Response]) -> Response:
        rule = self._take(req)
        if rule is None:
            return real()
        if rule.kind == "redirect":
            query = urlencode(req.pairs, quote_via=quote)
            base = rule.to or self.base_url
            location = f"{base}{req.path}?{query + '&' if query else ''}proxied=1"
            return Response(rule.status or 302, b"", HTML, {"Location": location})
        if rule.kind == "html":
            return Response(rule.status or 200, PROXY_PAGE, HTML)
        if rule.kind == "empty":
            return Response(rule.status or 200, b"", HTML)
        if rule.kind == "status":
            return Response(rule.status or 503, b"", HTML)
        if rule.kind == "reset":
            return RESET
        if rule.kind == "slow":
            time.sleep(rule.seconds)
            return real()
        response = real()   # truncate
        return Response(response.status, response.body[: len(response.body) // 2],
                        response.content_type, response.headers)
