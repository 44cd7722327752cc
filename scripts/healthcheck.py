"""healthcheck PORT [PATH]: exit 0 when http://127.0.0.1:PORT/PATH (default readyz) answers 2xx.

The containers' healthcheck, kept light on purpose: Docker does not kill a check that outlives
its timeout, so a check that imports much (urllib, the venv's site-packages) piles up on a
loaded machine. The image runs it as `timeout -s KILL 9 python3 -I -S healthcheck.py PORT`:
no site import, a raw HTTP/1.0 request, and a hard kill.
"""

import socket
import sys


def main(argv: list[str]) -> int:
    port = int(argv[1])
    path = argv[2] if len(argv) > 2 else "readyz"
    request = f"GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=7) as connection:
            connection.sendall(request)
            status_line = connection.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return 1
    parts = status_line.split(b" ")
    return 0 if len(parts) > 1 and parts[1].startswith(b"2") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
