"""Plex on https with its own CA (docs/outages.md, one "Plex is up"): the probe, Health Check and
the sync trust the same CA file, and a certificate that does not verify is a set-up error with
its fix, never "start Plex".

The fake Plex sits behind a small TLS terminator on loopback with a self-signed certificate for
127.0.0.1 made by `openssl` (Debian ships it); plexsync.py runs as Stash runs it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plexsync.resilience.probe import CERT_FIX
from testkit.fake_plex import FakePlex
from testkit.fake_stash import FakeStash
from tests.e2e.conftest import library, run_plugin

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "plex-cert.pem", folder / "plex-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@contextlib.contextmanager
def tls_in_front_of(port: int, cert: Path, key: Path) -> Iterator[str]:
    """An https address that forwards each connection's bytes to 127.0.0.1:`port`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    stopped = threading.Event()

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve(raw: socket.socket) -> None:
        try:
            client = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):   # the client refused our certificate
            raw.close()
            return
        with client, socket.create_connection(("127.0.0.1", port)) as upstream:
            back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
            back.start()
            pipe(client, upstream)
            back.join(timeout=30)

    def accept() -> None:
        while not stopped.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(raw,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopped.set()
        listener.close()


@pytest.fixture
def https_plex(tmp_path: Path) -> Iterator[tuple[FakeStash, FakePlex, str, Path]]:
    cert, key = certificate(tmp_path)
    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as stash, FakePlex() as plex, \
            tls_in_front_of(plex.port, cert, key) as url:
        yield stash, plex, url, cert


def test_plex_on_https_with_its_ca_in_requests_ca_bundle_is_up_for_the_probe_and_the_sync(
        https_plex: tuple[FakeStash, FakePlex, str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    stash, plex, url, cert = https_plex
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    ids = library(stash, plex, 3)
    stash.plugin_config["PlexSync"]["plex_url"] = url
    data_dir = tmp_path / "data"
    run = run_plugin(stash.task_input({"mode": "health_check"}), data_dir)
    checks = {c["name"]: c for c in run.answer["output"]["checks"]}
    assert checks["plex_reachable"]["ok"], checks["plex_reachable"]
    assert checks["token"]["ok"] and checks["libraries"]["ok"], checks
    stash.update_scene(ids[0], title="Over TLS")
    run_plugin(stash.hook_input(ids[0], input={"id": str(ids[0]), "title": "Over TLS"},
                                input_fields=["id", "title"]), data_dir)
    drained = run_plugin(stash.task_input({"mode": "process_queue"}), data_dir)
    assert drained.answer["error"] is None and drained.answer["output"]["synced"] == 1, \
        drained.answer
    assert plex.find_by_file("/media/s0.mp4").title == "Over TLS"   # type: ignore[union-attr]


def test_a_plex_certificate_nobody_trusts_is_a_setup_error_with_its_fix_not_an_outage(
        https_plex: tuple[FakeStash, FakePlex, str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    stash, plex, url, _ = https_plex
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    library(stash, plex, 1)
    stash.plugin_config["PlexSync"]["plex_url"] = url
    run = run_plugin(stash.task_input({"mode": "health_check"}), tmp_path / "data")
    reach = {c["name"]: c for c in run.answer["output"]["checks"]}["plex_reachable"]
    assert not reach["ok"] and reach["fix"] == CERT_FIX, reach
    assert "does not verify" in reach["problem"] and "Start Plex" not in reach["fix"]
