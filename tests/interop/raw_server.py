#!/usr/bin/env python3
"""A misbehaving WebSocket server on raw sockets, for the client tests.

Listens on 127.0.0.1 on a port the system picks and prints that port on the
first line of stdout. It reads the client's request and answers according
to the request path:

  /ok                   a correct 101, then a close frame (1000)
  /200                  200 OK instead of 101
  /bad-accept           101 with a wrong Sec-WebSocket-Accept
  /no-accept            101 without Sec-WebSocket-Accept
  /no-upgrade           101 without Upgrade
  /upgrade-other        101 with Upgrade: h2c
  /no-connection        101 without Connection
  /connection-close     101 with Connection: close
  /unoffered-protocol   101 choosing the subprotocol "mqtt"
  /unoffered-extension  101 accepting permessage-deflate
  /endless-headers      101, then header lines without end
  /garbage              a line that is not HTTP
  /hangup               closes the connection without answering
  /silent               never answers (keeps the connection open)
  /masked-frame         a correct 101, then a masked text frame
  /keep-alive           101 with Connection: keep-alive, Upgrade, then the
                        text "keep-alive accepted" and a close frame (1000)

Exits by itself after --lifetime seconds (default 60).
"""
import argparse
import base64
import hashlib
import socket
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, None
        data += chunk
        if len(data) > 65536:
            return None, None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    path = head[0].split(" ")[1]
    key = b""
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip().encode()
    return path, key


def response(key, upgrade="websocket", connection="Upgrade", accept=True, extra=""):
    lines = ["HTTP/1.1 101 Switching Protocols"]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if accept is True:
        lines.append("Sec-WebSocket-Accept: " + accept_for(key).decode())
    elif accept:
        lines.append("Sec-WebSocket-Accept: " + accept)
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


CLOSE_1000 = b"\x88\x02\x03\xe8"


def text_frame(payload, mask=None):
    head = bytes([0x81, len(payload) | (0x80 if mask else 0)])
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return head + mask + payload
    return head + payload


def serve(conn, lifetime):
    conn.settimeout(lifetime)
    try:
        path, key = read_request(conn)
        if path is None:
            return
        if path == "/ok":
            conn.sendall(response(key) + CLOSE_1000)
        elif path == "/200":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        elif path == "/bad-accept":
            conn.sendall(response(key, accept="dGhpcyBpcyBub3QgdGhlIGhhc2g="))
        elif path == "/no-accept":
            conn.sendall(response(key, accept=False))
        elif path == "/no-upgrade":
            conn.sendall(response(key, upgrade=None))
        elif path == "/upgrade-other":
            conn.sendall(response(key, upgrade="h2c"))
        elif path == "/no-connection":
            conn.sendall(response(key, connection=None))
        elif path == "/connection-close":
            conn.sendall(response(key, connection="close"))
        elif path == "/unoffered-protocol":
            conn.sendall(response(key, extra="Sec-WebSocket-Protocol: mqtt"))
        elif path == "/unoffered-extension":
            conn.sendall(response(key, extra="Sec-WebSocket-Extensions: permessage-deflate"))
        elif path == "/endless-headers":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n")
            n = 0
            while True:  # until the client gives up and the send fails
                conn.sendall(f"X-Filler-{n}: {'x' * 64}\r\n".encode())
                n += 1
        elif path == "/garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
        elif path == "/hangup":
            pass
        elif path == "/silent":
            time.sleep(lifetime)
        elif path == "/masked-frame":
            conn.sendall(response(key) + text_frame(b"masked", mask=b"\x01\x02\x03\x04"))
            time.sleep(2)
        elif path == "/keep-alive":
            conn.sendall(
                response(key, connection="keep-alive, Upgrade")
                + text_frame(b"keep-alive accepted")
                + CLOSE_1000
            )
            time.sleep(1)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=60)
    lifetime = parser.parse_args().lifetime
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        listener.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            break
        threading.Thread(target=serve, args=(conn, lifetime), daemon=True).start()


if __name__ == "__main__":
    main()
