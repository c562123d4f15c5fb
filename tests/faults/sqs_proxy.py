"""A loopback HTTP proxy in front of the emulator's SQS that makes SendMessageBatch fail part-way.

SQS answers a batch entry by entry; real queues refuse some entries (throttling, a
message over the size limit) while accepting the rest. The proxy drops the chosen
entries from the forwarded request and reports them as `Failed`, so the queue holds
exactly what the scheduler was told was accepted.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FailingSqsProxy:
    """`throttle(entry_id)` -> fail that entry once (SenderFault false: try again);
    `refuse(entry_id)` -> fail it every time while `refusing` (SenderFault true)."""

    def __init__(self, upstream: str, throttle, refuse):
        self.upstream = upstream.rstrip("/")
        self.throttle, self.refuse = throttle, refuse
        self.refusing = True
        self.throttled: set[str] = set()
        self.refused: set[str] = set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                failed = []
                if target.endswith(".SendMessageBatch"):
                    request = json.loads(body)
                    request["Entries"], failed = proxy._split(request["Entries"])
                    body = json.dumps(request).encode()
                if failed and not json.loads(body)["Entries"]:
                    status, reply = 200, json.dumps({"Successful": [], "Failed": failed}).encode()
                else:
                    status, reply = proxy._forward(self.path, self.headers, body)
                    if failed:
                        answer = json.loads(reply)
                        answer["Failed"] = answer.get("Failed", []) + failed
                        reply = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _split(self, entries: list[dict]) -> tuple[list[dict], list[dict]]:
        kept, failed = [], []
        with self._lock:
            for entry in entries:
                entry_id = entry["Id"]
                if self.refusing and self.refuse(entry_id):
                    self.refused.add(entry_id)
                    failed.append(_failure(entry_id, "InvalidParameterValue", "Message must be shorter than 262144 bytes.", True))
                elif self.throttle(entry_id) and entry_id not in self.throttled:
                    self.throttled.add(entry_id)
                    failed.append(_failure(entry_id, "RequestThrottled", "Rate exceeded", False))
                else:
                    kept.append(entry)
        return kept, failed

    def _forward(self, path: str, headers, body: bytes) -> tuple[int, bytes]:
        forwarded = {name: value for name, value in headers.items() if name.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + path, data=body, headers=forwarded, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


def _failure(entry_id: str, code: str, message: str, sender_fault: bool) -> dict:
    return {"Id": entry_id, "Code": code, "Message": message, "SenderFault": sender_fault}
