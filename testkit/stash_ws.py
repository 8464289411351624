"""Stash's GraphQL websocket for the UI test server (testkit/stash_ui.py), stdlib only.

Stash's frontend opens one websocket at `<base>graphql` as soon as it boots (its Apollo client
subscribes to `scanCompleteSubscribe` at once) and speaks graphql-ws's `graphql-transport-ws`
protocol over it (gqlgen's transport.Websocket on Stash's side). Without an answer the
frontend retries for ever and the browser logs every failed attempt as a console error.

What this implements (RFC 6455 framing; graphql-transport-ws messages):
- the HTTP upgrade (101, Sec-WebSocket-Accept, the `graphql-transport-ws` subprotocol);
- text, ping/pong and close frames; client frames are masked, server frames are not;
- `connection_init` -> `connection_ack`, `ping` -> `pong`, `subscribe` validated against the
  schema (`error` with the GraphQL errors when invalid), `complete` ends a subscription;
- events: `publish(field, payload)` sends `next` to every open subscription whose root field
  is `field` (the server publishes `jobsSubscribe` updates for the plugin jobs it runs).
Simplified: no server keep-alive pings (gqlgen sends one every 10 s; the client needs none);
fragmented frames are not expected from a browser and close the socket.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import queue
import select
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql.error import GraphQLError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOL = "graphql-transport-ws"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def is_upgrade(handler: BaseHTTPRequestHandler) -> bool:
    return (handler.headers.get("Upgrade") or "").lower() == "websocket"


class Subscriptions:
    """Open websocket subscriptions by root field, for `publish`; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, tuple[str, str, queue.Queue[dict[str, Any]]]] = {}
        self._keys = itertools.count(1)
        self.accepted: list[str] = []   # root fields subscribed to, in order (for tests)

    def add(self, field: str, sub_id: str, out: queue.Queue[dict[str, Any]]) -> int:
        with self._lock:
            key = next(self._keys)
            self._open[key] = (field, sub_id, out)
            self.accepted.append(field)
        return key

    def remove_id(self, sub_id: str, out: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            for key, (_, sid, q) in list(self._open.items()):
                if sid == sub_id and q is out:
                    del self._open[key]

    def remove(self, key: int) -> None:
        with self._lock:
            self._open.pop(key, None)

    def publish(self, field: str, payload: Any) -> None:
        with self._lock:
            targets = [(sub_id, out) for f, sub_id, out in self._open.values() if f == field]
        for sub_id, out in targets:
            out.put({"id": sub_id, "type": "next", "payload": {"data": {field: payload}}})


def serve(handler: BaseHTTPRequestHandler, schema: GraphQLSchema, subs: Subscriptions) -> None:
    """Upgrade `handler`'s connection and speak graphql-transport-ws until either side closes.
    Runs in the handler's thread; returns when the socket is done."""
    key = handler.headers.get("Sec-WebSocket-Key") or ""
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    if PROTOCOL in (handler.headers.get("Sec-WebSocket-Protocol") or ""):
        handler.send_header("Sec-WebSocket-Protocol", PROTOCOL)
    handler.end_headers()
    handler.wfile.flush()
    handler.close_connection = True
    sock: socket.socket = handler.connection
    outbox: queue.Queue[dict[str, Any]] = queue.Queue()
    mine: list[int] = []
    buf = bytearray()   # read straight from the socket: the browser sends nothing before 101
    try:
        while True:
            while not outbox.empty():
                _send(sock, TEXT, json.dumps(outbox.get()).encode())
            frame = _take_frame(buf)
            if frame is None:
                if select.select([sock], [], [], 0.1)[0]:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                continue
            opcode, data = frame
            if opcode == CLOSE:
                _send(sock, CLOSE, data[:2])
                return
            if opcode == PING:
                _send(sock, PONG, data)
            elif opcode == TEXT:
                _message(json.loads(data), schema, subs, outbox, mine)
    except (OSError, ValueError):
        return
    finally:
        for k in mine:
            subs.remove(k)


def _message(msg: dict[str, Any], schema: GraphQLSchema, subs: Subscriptions,
             outbox: queue.Queue[dict[str, Any]], mine: list[int]) -> None:
    kind = msg.get("type")
    if kind == "connection_init":
        outbox.put({"type": "connection_ack"})
    elif kind == "ping":
        outbox.put({"type": "pong"})
    elif kind == "subscribe":
        payload = msg.get("payload") or {}
        try:
            document = parse(str(payload.get("query") or ""))
            errors = validate(schema, document)
        except GraphQLError as err:
            errors = [err]
        if errors:
            outbox.put({"id": msg.get("id"), "type": "error",
                        "payload": [e.formatted for e in errors]})
            return
        op = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        node = op.selection_set.selections[0]
        field = node.name.value if isinstance(node, FieldNode) else ""
        mine.append(subs.add(field, str(msg.get("id")), outbox))
    elif kind == "complete":
        subs.remove_id(str(msg.get("id")), outbox)


def _take_frame(buf: bytearray) -> tuple[int, bytes] | None:
    """The first whole frame in `buf` (removed from it), or None while it is incomplete."""
    if len(buf) < 2:
        return None
    fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
    masked, length = buf[1] & 0x80, buf[1] & 0x7F
    at = 2
    if length == 126:
        if len(buf) < 4:
            return None
        length, at = struct.unpack("!H", buf[2:4])[0], 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length, at = struct.unpack("!Q", buf[2:10])[0], 10
    mask = bytes(buf[at:at + 4]) if masked else b"\0\0\0\0"
    at += 4 if masked else 0
    if len(buf) < at + length:
        return None
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[at:at + length]))
    del buf[:at + length]
    if not fin:
        raise ValueError("fragmented websocket frames are not supported")
    return opcode, data


def _send(sock: socket.socket, opcode: int, data: bytes) -> None:
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    sock.sendall(head + data)
