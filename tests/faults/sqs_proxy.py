"""A loopback HTTP proxy in front of the emulator's SQS that makes SendMessageBatch fail part-way.

SQS answers a batch entry by entry; real queues refuse some entries (throttling, a
message over the size limit) while accepting the rest. The proxy drops the chosen
entries from the forwarded request and reports them as `Failed`, so the queue holds
exactly what the scheduler was told was accepted.

botocore speaks SQS's JSON protocol (`X-Amz-Target: AmazonSQS.SendMessageBatch`);
`batches` counts the calls rewritten, so a test can tell when none went through it.
The forwarded body no longer matches its SigV4 signature: fine for the emulator, which
does not verify signatures; this is a test double for MiniStack, not for AWS.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


class FailingSqsProxy:
    """For each SendMessageBatch entry (a dict, as boto3 sent it): `throttle(entry) -> n` fails its
    first n sends (SenderFault false: try again); `refuse(entry)` fails it every time while
    `refusing` (SenderFault true: the request itself is wrong). Records are by entry Id."""

    def __init__(self, upstream: str, throttle: Callable[[dict], int], refuse: Callable[[dict], bool]):
        self.upstream = upstream.rstrip("/")
        self.throttle, self.refuse = throttle, refuse
        self.refusing = True
        self.batches = 0
        self.throttled: Counter[str] = Counter()  # entry id -> times throttled
        self.refused: set[str] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as SQS itself: boto3 reuses its connections
            disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall between them

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                failed = []
                if self.headers.get("X-Amz-Target", "").endswith(".SendMessageBatch"):
                    request = json.loads(body)
                    request["Entries"], failed = proxy._split(request["Entries"])
                    body = json.dumps(request).encode()
                    if not request["Entries"]:  # SQS refuses an empty batch: answer for it
                        self._reply(200, {"Content-Type": "application/x-amz-json-1.0"}, {"Successful": [], "Failed": failed})
                        return
                status, headers, reply = proxy._forward(self.path, self.headers, body)
                if failed and status == 200:
                    answer = json.loads(reply)
                    answer["Failed"] = answer.get("Failed", []) + failed
                    reply = answer
                self._reply(status, headers, reply)

            def _reply(self, status: int, headers: dict, reply) -> None:
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _split(self, entries: list[dict]) -> tuple[list[dict], list[dict]]:
        kept, failed = [], []
        with self._lock:
            self.batches += 1
            for entry in entries:
                entry_id = entry["Id"]
                if self.refusing and self.refuse(entry):
                    self.refused.add(entry_id)
                    failed.append(_failure(entry_id, "InvalidParameterValue", "Message must be shorter than 262144 bytes.", True))
                elif self.throttled[entry_id] < self.throttle(entry):
                    self.throttled[entry_id] += 1
                    failed.append(_failure(entry_id, "RequestThrottled", "Rate exceeded", False))
                else:
                    kept.append(entry)
        return kept, failed

    def _forward(self, path: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        forwarded = {name: value for name, value in headers.items() if name.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + path, data=body, headers=forwarded, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def _failure(entry_id: str, code: str, message: str, sender_fault: bool) -> dict:
    return {"Id": entry_id, "Code": code, "Message": message, "SenderFault": sender_fault}
