"""TLS in front of the embedded PostgreSQL, whose build has no SSL: answers the client's SSLRequest,
terminates TLS with a certificate made by the test, and relays the plain protocol to the server."""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import threading
from pathlib import Path

_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def make_certificates(folder: Path, name: str = "ca") -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signs for localhost and 127.0.0.1: (ca.pem, server.pem, server.key)."""
    ca_key, ca, key, csr, cert = (folder / f"{name}{suffix}" for suffix in ("-ca.key", "-ca.pem", ".key", ".csr", ".pem"))
    ext = folder / f"{name}.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", f"/CN={name} test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, cert, key


class TlsProxy:
    def __init__(self, upstream: tuple[str, int], cert: Path, key: Path):
        self._upstream = upstream
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            if client.recv(8, socket.MSG_WAITALL) != _SSL_REQUEST:
                client.close()  # this proxy speaks TLS only
                return
            client.sendall(b"S")
            secure = self._context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()  # e.g. the client refused our certificate
            return
        server = socket.create_connection(self._upstream)
        threading.Thread(target=_pump, args=(server, secure), daemon=True).start()
        _pump(secure, server)


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
