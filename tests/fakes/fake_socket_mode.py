"""A local Socket Mode server (the ``websockets`` package): hands out envelopes, records acks.

Its ``url`` goes into ``FakeSlack.socket_url`` so the fake's apps.connections.open returns it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    """ws://127.0.0.1:<port>/link/?ticket=… accepting the bot's Socket Mode connection."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self._cond = threading.Condition()
        self.server = serve(self._handle, "127.0.0.1", 0, ping_interval=None, compression=None)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=test-ticket&app_id=A0001"

    def _handle(self, ws: ServerConnection) -> None:
        with self._cond:
            self.connections.append(ws)
            self._cond.notify_all()
        ws.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0001"},
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                }
            )
        )
        try:
            for message in ws:
                data = json.loads(message)
                with self._cond:
                    self.received.append(data)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass

    def wait_connected(self, timeout: float = 20.0) -> ServerConnection:
        """The newest open connection, waiting (bounded) for one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no Socket Mode connection within {timeout} s")
                self._cond.wait(left)
            return self.connections[-1]

    def push(self, envelope: dict[str, Any]) -> None:
        """Send one envelope over the newest connection."""
        self.wait_connected().send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The bot's acknowledgement of ``envelope_id`` (waiting, bounded)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for data in self.received:
                    if data.get("envelope_id") == envelope_id:
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for {envelope_id} within {timeout} s; got {self.received}")
                self._cond.wait(left)
