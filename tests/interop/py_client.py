"""Drives an echo server with the Python `websockets` client.

    python3 py_client.py PORT CASE...

Each case runs on its own connection(s) to ws://127.0.0.1:PORT/ and prints
`ok CASE` or `FAIL CASE: why`. The exit status is 0 only when every case
passed. Every network operation has a timeout, and a watchdog ends the
process if the whole run takes too long.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

TIMEOUT = 20.0  # seconds, for any single network operation
WATCHDOG = 55.0  # seconds, for the whole run
# The largest message sent (the cases go up to 16 MiB; less for a server
# under valgrind).
MAX_MESSAGE = int(os.environ.get("EWS_INTEROP_MAX_MESSAGE", 16 << 20))
BIG = min(16 << 20, MAX_MESSAGE)

PORT = 0


class Mismatch(Exception):
    """The server did not behave as expected."""


def expect(cond, what):
    if not cond:
        raise Mismatch(what)


def describe(data):
    kind = "text" if isinstance(data, str) else "binary"
    size = len(data.encode()) if isinstance(data, str) else len(data)
    return f"{kind} of {size} bytes"


def open_ws():
    return connect(
        f"ws://127.0.0.1:{PORT}/",
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        ping_interval=None,
        max_size=None,
        proxy=None,
    )


def text_of(size):
    """A str of exactly `size` UTF-8 bytes mixing 1- to 4-byte characters."""
    unit = "aé€😀"  # 1 + 2 + 3 + 4 bytes
    out = unit * (size // 10)
    rest = size - 10 * (size // 10)
    return out + "x" * rest


def binary_of(size, seed):
    return random.Random(seed).randbytes(size)


def recv(ws):
    return ws.recv(timeout=TIMEOUT)


def echo(ws, message):
    ws.send(message)
    back = recv(ws)
    expect(type(back) is type(message), f"sent {describe(message)}, got {describe(back)}")
    expect(back == message, f"sent {describe(message)}, got different content ({describe(back)})")


SIZES = [n for n in [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20] if n <= MAX_MESSAGE]


def case_text_sizes():
    with open_ws() as ws:
        for size in SIZES:
            echo(ws, text_of(size))
        ws.close()


def case_binary_sizes():
    with open_ws() as ws:
        for size in SIZES:
            echo(ws, binary_of(size, size))
        ws.close()


def case_pipelined():
    """100 messages sent before reading any reply come back in order."""
    with open_ws() as ws:
        messages = [text_of(i) if i % 2 else binary_of(i, i) for i in range(100)]
        for m in messages:
            ws.send(m)
        for i, m in enumerate(messages):
            back = recv(ws)
            expect(back == m and type(back) is type(m), f"reply {i} is not message {i}")
        ws.close()


def case_concurrent():
    """20 clients at once, each echoing 50 messages of up to 100 kB."""
    failures = []

    def client(n):
        try:
            with open_ws() as ws:
                rng = random.Random(n)
                for i in range(50):
                    size = rng.choice([0, 1, 125, 126, 1000, 65536, 100000])
                    echo(ws, text_of(size) if i % 2 else binary_of(size, n * 100 + i))
                ws.close()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"client {n}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
        expect(not t.is_alive(), "a client did not finish in time")
    expect(not failures, "; ".join(failures))


def case_fragmented():
    with open_ws() as ws:
        # Text split inside multi-byte characters: fragments are bytes sent
        # as a text message, so each fragment alone is not valid UTF-8.
        text = text_of(1000)
        raw = text.encode()
        pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]
        ws.send(pieces, text=True)
        back = recv(ws)
        expect(back == text, f"fragmented text came back as {describe(back)}")
        # Binary in uneven fragments, one of them empty.
        data = binary_of(300000, 7)
        ws.send([data[:1], b"", data[1:70000], data[70000:]])
        back = recv(ws)
        expect(back == data, f"fragmented binary came back as {describe(back)}")
        # A 16 MiB message in 1 MiB fragments.
        big = binary_of(BIG, 8)
        ws.send([big[i : i + (1 << 20)] for i in range(0, len(big), 1 << 20)])
        back = recv(ws)
        expect(back == big, f"{len(big)} bytes in fragments came back as {describe(back)}")
        ws.close()


def case_ping():
    with open_ws() as ws:
        for payload in [b"", b"x", b"ping payload", bytes(range(125)), "é€😀".encode()]:
            waiter = ws.ping(payload)
            # websockets sets the event only for a pong with this payload.
            expect(waiter.wait(TIMEOUT), f"no pong with the ping's payload ({len(payload)} bytes)")
        # Messages still echo after pings.
        echo(ws, "after pings")
        ws.close()


CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]


def case_close_codes():
    for code in CLOSE_CODES:
        with open_ws() as ws:
            echo(ws, f"before close {code}")
            ws.close(code, "bye")
            rcvd = ws.protocol.close_rcvd
            expect(rcvd is not None, f"close {code}: no close frame came back")
            expect(rcvd.code == code, f"close {code}: the server answered {rcvd.code}")
            expect(ws.protocol.close_rcvd_then_sent is False, f"close {code}: the server closed first")


def raw_handshake(sock):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        expect(chunk, "the server closed during the handshake")
        head += chunk
    expect(head.startswith(b"HTTP/1.1 101 "), f"handshake answered {head[:40]!r}")
    expect(head.endswith(b"\r\n\r\n"), "bytes after the 101 response")


def masked_header(opcode, length, fin=True):
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + os.urandom(4)


def raw_socket():
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=TIMEOUT)
    raw_handshake(sock)
    return sock


def abort(sock):
    """Closes with a reset instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def case_disappear():
    """Clients that vanish mid-message leave the server serving others."""
    with open_ws() as survivor:
        echo(survivor, "before")
        # A header announcing 1 MiB and half of the payload, then FIN.
        sock = raw_socket()
        sock.sendall(masked_header(0x2, 1 << 20) + os.urandom(1 << 19))
        sock.close()
        # The same, ended by a reset.
        sock = raw_socket()
        sock.sendall(masked_header(0x2, 1 << 20) + os.urandom(1 << 19))
        abort(sock)
        # Half of a frame header.
        sock = raw_socket()
        sock.sendall(masked_header(0x1, 70000)[:3])
        sock.close()
        # The first fragments of a fragmented message.
        sock = raw_socket()
        for _ in range(3):
            sock.sendall(masked_header(0x2 if _ == 0 else 0x0, 1000, fin=False) + os.urandom(1000))
        abort(sock)
        # A websockets client whose socket is shut in the middle of a
        # fragmented message.
        with open_ws() as ws:

            def fragments():
                yield b"first fragment"
                ws.socket.shutdown(socket.SHUT_RDWR)
                yield b"never sent"

            try:
                ws.send(fragments())
            except (ConnectionClosed, OSError):
                pass
        time.sleep(0.2)
        echo(survivor, "after")
        echo(survivor, binary_of(1 << 20, 3))
        with open_ws() as fresh:
            echo(fresh, "a new client is served")
            fresh.close()
        survivor.close()


def send_expecting_close(ws, message, code, what, text=None):
    """Sends `message`, which makes the server close with `code`; the close
    may arrive while the client is still sending."""
    try:
        ws.send(message, text=text)
    except ConnectionClosed:
        pass
    expect_closed_with(ws, code, what)


def expect_closed_with(ws, code, what):
    try:
        back = ws.recv(timeout=TIMEOUT)
    except ConnectionClosed as e:
        expect(e.rcvd is not None, f"{what}: no close frame, the connection just dropped")
        expect(e.rcvd.code == code, f"{what}: close code {e.rcvd.code}, expected {code}")
        return
    raise Mismatch(f"{what}: got a {describe(back)} instead of close {code}")


def case_invalid_utf8():
    # websockets sends bytes given with text=True as they are.
    for name, payload in [
        ("lone continuation byte", b"abc\x80"),
        ("overlong encoding", b"\xc0\xaf"),
        ("surrogate", b"\xed\xa0\x80"),
        ("above U+10FFFF", b"\xf4\x90\x80\x80"),
        ("truncated sequence", b"ok \xe2\x82"),
    ]:
        with open_ws() as ws:
            send_expecting_close(ws, payload, 1007, name, text=True)
    # Split across fragments: each fragment's bytes are fine up to the
    # boundary, the sequence they form is not.
    with open_ws() as ws:
        # websockets ends a fragmented message with an empty final frame,
        # which may meet the server's close.
        send_expecting_close(ws, [b"\xe2\x82", b"\x28"], 1007, "bad sequence across fragments", text=True)
    with open_ws() as ws:
        echo(ws, "still serving")
        ws.close()


CASES = {name[5:]: f for name, f in globals().items() if name.startswith("case_")}


def main():
    global PORT
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} PORT CASE...  (cases: {' '.join(CASES)})")
    PORT = int(sys.argv[1])
    timer = threading.Timer(WATCHDOG, lambda: (print("FAIL watchdog: the run took too long", flush=True), os._exit(3)))
    timer.daemon = True
    timer.start()
    failed = 0
    for name in sys.argv[2:]:
        if name not in CASES:
            sys.exit(f"unknown case {name!r}")
        started = time.monotonic()
        try:
            CASES[name]()
            print(f"ok {name} ({time.monotonic() - started:.2f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
