"""The latency profile's delay proxy forwards every byte, in order, both ways, and counts what it held.
Nothing here is timed: how long the delay is lives in the benchmark (`latency_profile`)."""

import socket
import socketserver
import threading

from bench.latency import Profile, delayed


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


def test_bytes_pass_through_in_order_and_are_counted():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # Both routes in front of the echo server: "postgres" 1 ms, "sqs" 2 ms.
        with delayed(port, f"http://127.0.0.1:{port}", Profile(sqs_ms=2, postgres_ms=1)) as routes:
            for target in (routes.postgres_port, int(routes.sqs_url.rsplit(":", 1)[1])):
                with socket.create_connection(("127.0.0.1", target), timeout=10) as client:
                    sent = b"".join(i.to_bytes(4, "big") for i in range(50_000))  # 200 kB, several chunks
                    client.sendall(sent)
                    client.shutdown(socket.SHUT_WR)
                    received = b""
                    while data := client.recv(65536):
                        received += data
                assert received == sent
            stats = routes.stats()
        assert stats["postgres"]["chunks"] >= 1 and stats["sqs"]["chunks"] >= 1
    finally:
        server.shutdown()
        server.server_close()
