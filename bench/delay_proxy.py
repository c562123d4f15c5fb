"""`python -m bench.delay_proxy HOST:PORT=MS ...`: loopback TCP proxies that add network latency.

What is delayed: every chunk of bytes the client sends is held MS milliseconds from the moment it
arrived, then forwarded (a delay line: a request split over several chunks still arrives MS later,
once). Replies pass at once. So each request/response round trip (one SQS call, one PostgreSQL
statement, BEGIN or COMMIT) waits MS longer, as it would across a network; bytes keep their order.

TCP, not HTTP: the same proxy carries SQS's HTTP and PostgreSQL's wire protocol, and forwarding
bytes costs far less CPU than parsing requests on a machine the benchmark already keeps busy
(tests/faults/sqs_proxy.py rewrites SQS requests; this only delays them).

Protocol: prints one JSON line, the listening ports in the order of the routes, once listening;
each `stats` line on stdin is answered by a list of {"chunks", "late_ms_mean"} in the same order
(late: how much later than MS a chunk went out, the proxy's own overhead). Bounded: listens on 127.0.0.1 only, at most
MAX_CONNECTIONS at once, exits when stdin closes (its parent ended) or after --seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import sys
import threading
import time

MAX_CONNECTIONS = 128
CHUNK = 256 * 1024


class DelayLine:
    """One listening port in front of `upstream`, delaying client-to-server bytes by `delay` seconds."""

    def __init__(self, upstream: tuple[str, int], delay: float):
        self.upstream, self.delay = upstream, delay
        self.chunks = 0
        self.late = 0.0  # seconds, summed over chunks
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stats(self) -> dict:
        with self._lock:
            return {"chunks": self.chunks, "late_ms_mean": round(self.late / self.chunks * 1000, 3) if self.chunks else 0.0}

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            if not self._slots.acquire(blocking=False):
                client.close()  # over the bound: refused, the client sees a reset
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                self._slots.release()
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stall on top of the delay
            held: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=self._hold, args=(client, held), daemon=True).start()
            threading.Thread(target=self._release, args=(held, server, client), daemon=True).start()
            threading.Thread(target=_copy, args=(server, client), daemon=True).start()

    def _hold(self, client: socket.socket, held: queue.SimpleQueue) -> None:
        """Stamp each chunk the client sends with the time it may go on."""
        while data := _recv(client):
            held.put((time.monotonic() + self.delay, data))
        held.put(None)

    def _release(self, held: queue.SimpleQueue, server: socket.socket, client: socket.socket) -> None:
        try:
            while (item := held.get()) is not None:
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                server.sendall(data)
                with self._lock:
                    self.chunks += 1
                    self.late += time.monotonic() - due
            server.shutdown(socket.SHUT_WR)
        except OSError:
            client.close()
        finally:
            self._slots.release()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(CHUNK)
    except OSError:
        return b""


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := _recv(source):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        source.close()
        target.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("routes", nargs="+", metavar="HOST:PORT=MS")
    parser.add_argument("--seconds", type=float, default=3600, help="exit after this long, whatever happens")
    args = parser.parse_args()
    lines = []
    for route in args.routes:
        target, _, ms = route.partition("=")
        host, _, port = target.rpartition(":")
        lines.append(DelayLine((host, int(port)), float(ms) / 1000))
    threading.Timer(args.seconds, os._exit, args=(0,)).start()
    print(json.dumps([line.port for line in lines]), flush=True)
    for request in sys.stdin:
        if request.strip() == "stats":
            print(json.dumps([line.stats() for line in lines]), flush=True)
    os._exit(0)  # stdin closed: the parent is done with us


if __name__ == "__main__":
    sys.exit(main())
