"""The screenshot download: Stash's credentials go to Stash's own origin only, and a gzip
bomb is stopped by counting decoded bytes as they stream (docs/reliability.md, "Secrets")."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plexsync.errors import StashError
from plexsync.stash.api import StashClient
from testkit.fake_stash import FakeStash

ROOT = Path(__file__).resolve().parents[2]
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
API_KEY, COOKIE = "APIKEY-dl-7", "COOKIE-dl-7"


class _Other(ThreadingHTTPServer):
    """Another origin (Stash's external host setting, a proxy's Host header) serving
    `body`, recording the headers of every request."""

    daemon_threads = True

    def __init__(self, body: bytes, encoding: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _Serve)
        self.body, self.encoding = body, encoding
        self.seen: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Serve(BaseHTTPRequestHandler):
    server: _Other

    def do_GET(self) -> None:
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if self.server.encoding:
            self.send_header("Content-Encoding", self.server.encoding)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        with contextlib.suppress(OSError):   # a capped download stops reading
            self.wfile.write(self.server.body)

    def log_message(self, *args: object) -> None:
        pass


def _serving(server: _Other) -> Iterator[_Other]:
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def other() -> Iterator[_Other]:
    yield from _serving(_Other(JPEG))


@pytest.fixture
def stash() -> Iterator[FakeStash]:
    with FakeStash(api_key=API_KEY, session_cookie=COOKIE) as fake:
        yield fake


def _client(stash: FakeStash) -> StashClient:
    return StashClient(dict(stash.server_connection(), ApiKey=API_KEY))


def test_a_screenshot_on_another_origin_is_fetched_without_stashs_credentials(
        stash: FakeStash, other: _Other) -> None:
    client = _client(stash)
    client.plugin_settings()   # the session is up and carries the key and the cookie
    assert client.download(f"{other.url}/scene/1/screenshot?t=1") == JPEG
    [headers] = other.seen
    assert "apikey" not in headers and "cookie" not in headers
    assert API_KEY not in str(headers) and COOKIE not in str(headers)


def test_a_screenshot_on_stashs_own_origin_is_fetched_with_them(stash: FakeStash) -> None:
    sid = stash.add_scene(title="Covered", files=[{"path": "/data/c.mp4", "size": 1}])
    stash.set_screenshot(sid, JPEG)
    assert _client(stash).download(f"{stash.url}/scene/{sid}/screenshot?t=1") == JPEG


def _bomb(decoded: int) -> bytes:
    """`decoded` bytes of zeros, gzip-compressed a MiB at a time (never all in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)   # wbits 31: the gzip container
    mib = b"\0" * (1 << 20)
    return b"".join([*(packer.compress(mib) for _ in range(decoded >> 20)), packer.flush()])


def test_a_gzip_bomb_is_refused_once_its_decoded_bytes_pass_the_cap(stash: FakeStash) -> None:
    bomb = _bomb(8 * 1024 * 1024)   # 8 MiB of zeros in ~8 KiB, against a 1 MiB cap
    for server in _serving(_Other(bomb, "gzip")):
        with pytest.raises(StashError, match=r"image from Stash is larger than 1 MiB\."):
            _client(stash).download(f"{server.url}/s.jpg", max_bytes=1024 * 1024)


MEASURE = '''
import resource, sys
sys.path.insert(0, sys.argv[1])
from tests.stash.test_download import _Other, _serving, _client, _bomb, API_KEY, COOKIE
from testkit.fake_stash import FakeStash
bomb = _bomb(int(sys.argv[2]))
with FakeStash(api_key=API_KEY, session_cookie=COOKIE) as stash:
    client = _client(stash)
    client.plugin_settings()
    for server in _serving(_Other(bomb, "gzip")):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            client.download(server.url + "/s.jpg")
        except Exception as exc:
            outcome = type(exc).__name__
        else:
            outcome = "accepted"
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(bomb), before // 1024, after // 1024, outcome)
'''


def peak_rss_of_a_bomb(decoded: int, root: Path = ROOT) -> tuple[int, int, int, str]:
    """(bomb size in bytes, peak RSS MiB before, after the download, outcome), measured in a
    fresh process (benchmark helper: `python -c` this for the figures in the report)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(root), str(decoded)],
                         capture_output=True, text=True, check=True, timeout=300).stdout.split()
    return int(out[0]), int(out[1]), int(out[2]), out[3]


def test_a_600_kib_gzip_bomb_raises_the_peak_memory_by_less_than_twice_the_cap() -> None:
    size, before, after, outcome = peak_rss_of_a_bomb(600 * 1024 * 1024)
    assert outcome == "StashError" and size < 700 * 1024
    assert after - before < 100, f"peak RSS went from {before} to {after} MiB"


def test_the_requirements_ask_for_a_urllib3_that_decodes_only_what_is_read() -> None:
    # Below 2.6, urllib3 decompressed a whole read before PlexSync could count it: the 600
    # KiB bomb above peaked the process at ~1.3 GB (measured with 2.5.0).
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "urllib3>=2.6" in [line.split("#")[0].strip() for line in lines]
