#!/var/lang/bin/python3
"""STAND-IN for aws-lambda-rie (the Runtime Interface Emulator of the official Lambda base images).

Serves the invoke endpoint on :8080 (POST /2015-03-31/functions/function/invocations, as the RIE
does) and the Lambda Runtime API on 127.0.0.1:9001 for the runtime it starts (the bootstrap given
as arguments). One invocation at a time, like one Lambda execution environment. No X-Ray, no
extensions, no init-phase timeout: what the official RIE leaves out too, or this project never uses.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNTIME_API = "127.0.0.1:9001"
PREFIX = "/2018-06-01/runtime"
TIMEOUT_S = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "300"))
FUNCTION = os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "function")
ARN = f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:012345678912:function:{FUNCTION}"

pending: "queue.Queue[tuple[str, bytes]]" = queue.Queue()
results: dict[str, "queue.Queue[tuple[int, bytes, dict]]"] = {}
one_at_a_time = threading.Lock()
# MiniStack reads the container's log (`docker logs --since` the invoke) the moment the invoke returns,
# but the engine copies a container's output to its log asynchronously (6 ms behind, seen under load):
# a line not copied yet is never read, so lost from CloudWatch. The reply waits this long for the copy
# (MiniStack's own warm pool drains its pipes for up to 250 ms). A stand-in choice: upstream's RIE does not.
LOG_SETTLE_S = 0.25


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the function's own output is the log
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes, headers: dict | None = None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404, b'{"errorMessage":"not found"}')
        request_id, event = pending.get()
        self._reply(200, event, {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + TIMEOUT_S) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": ARN,
            "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
        })

    def do_POST(self):
        body = self._body()
        if self.path == "/2015-03-31/functions/function/invocations":
            return self._invoke(body)
        parts = self.path.removeprefix(PREFIX + "/").split("/")
        if parts[:1] == ["invocation"] and len(parts) == 3 and parts[1] in results:
            error = parts[2] == "error"
            headers = {"X-Amz-Function-Error": "Unhandled"} if error else {}
            results[parts[1]].put((200, body, headers))
            return self._reply(202, b'{"status":"OK"}')
        if parts == ["init", "error"]:
            print(f"stand-in RIE: init error: {body.decode(errors='replace')}", file=sys.stderr)
            return self._reply(202, b'{"status":"OK"}')
        self._reply(404, b'{"errorMessage":"not found"}')

    def _invoke(self, event: bytes):
        with one_at_a_time:
            request_id = self.headers.get("X-Amzn-RequestId") or str(uuid.uuid4())
            results[request_id] = queue.Queue()
            pending.put((request_id, event or b"{}"))
            try:
                status, body, headers = results[request_id].get(timeout=TIMEOUT_S)
            except queue.Empty:
                status, body, headers = 200, json.dumps({
                    "errorMessage": f"Task timed out after {TIMEOUT_S}.00 seconds",
                    "errorType": "Sandbox.Timedout"}).encode(), {"X-Amz-Function-Error": "Unhandled"}
            finally:
                results.pop(request_id, None)
            time.sleep(LOG_SETTLE_S)
        self._reply(status, body, headers)


def main(bootstrap: list[str]) -> int:
    if not bootstrap:
        print("usage: aws-lambda-rie BOOTSTRAP [ARGS...] (stand-in)", file=sys.stderr)
        return 2
    for address in (("127.0.0.1", 9001), ("0.0.0.0", 8080)):
        threading.Thread(target=ThreadingHTTPServer(address, Handler).serve_forever, daemon=True).start()
    print("stand-in RIE (not aws-lambda-rie): invoke on :8080, Runtime API on " + RUNTIME_API, flush=True)
    runtime = subprocess.Popen(bootstrap, env={**os.environ, "AWS_LAMBDA_RUNTIME_API": RUNTIME_API})
    return runtime.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
