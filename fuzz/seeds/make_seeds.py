#!/usr/bin/env python3
"""Writes the seed inputs under fuzz/seeds/<target>/ (run from anywhere).

The layouts are documented at the top of each target in fuzz_targets/.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
MASK = b"\x37\xfa\x21\x3d"


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def masked(payload, key=MASK):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload, fin=True, mask=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        h = bytes([b0, m | n])
    elif n < 65536:
        h = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        return h + mask + masked(payload, mask)
    return h + payload


# ----- frame_header: rules byte, then bytes -----
write("frame_header", "text_masked", b"\x01" + frame(1, b"Hello", mask=MASK)[:6])
write("frame_header", "len16", b"\x00" + frame(2, b"x" * 300)[:4])
write("frame_header", "len64", b"\x00\x82\x7f" + struct.pack(">Q", 70000))
write("frame_header", "ping_any", b"\x1c\x89\x05")
write("frame_header", "close_unmasked", b"\x02\x88\x02")

# ----- server_handshake: flags, seed, decision, clock, then the client's bytes -----
REQ = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
       b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + b"\r\nOrigin: http://example.com\r\n"
       b"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n")
write("server_handshake", "rfc_request", b"\xc0\x00\x00\x00" + REQ + frame(1, b"Hello", mask=MASK))
write("server_handshake", "rfc_request_chunked", b"\xc8\x2a\x00\x00" + REQ + frame(9, b"ping", mask=MASK)
      + frame(8, b"\x03\xe8bye", mask=MASK))
write("server_handshake", "deferred_accept", b"\xc2\x00\x01\x00" + REQ)
write("server_handshake", "deferred_reject", b"\xc2\x07\x07\x00" + REQ)
write("server_handshake", "http10", b"\xc0\x00\x00\x00" + REQ.replace(b"HTTP/1.1", b"HTTP/1.0"))
write("server_handshake", "version_8", b"\xc0\x00\x00\x00" + REQ.replace(b"Version: 13", b"Version: 8"))
write("server_handshake", "not_found", b"\xc0\x00\x00\x00" + REQ.replace(b"/chat", b"/other?x=1"))
write("server_handshake", "small_limits", b"\x01\x05\x00\x00" + REQ)
write("server_handshake", "slow_client", b"\xc0\x09\x00\xff" + REQ)
write("server_handshake", "deferred_late", b"\xc2\x00\x81\xff" + REQ)

# ----- client_response: flags, seed, clock, then the server's bytes -----
RESP = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n")
write("client_response", "rfc_response", b"\x67\x00\x00" + RESP + b"\r\n" + frame(1, b"Hello"))
write("client_response", "with_protocol", b"\x61\x11\x00" + RESP + b"Sec-WebSocket-Protocol: chat\r\n\r\n"
      + frame(2, b"\x00\x01", fin=False) + frame(9, b"p") + frame(0, b"\x02") + frame(8, b"\x03\xe8"))
write("client_response", "not_101", b"\x07\x00\x00HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
write("client_response", "slow_server", b"\x00\x03\xff" + RESP + b"\r\n")
write("client_response", "wrong_accept", b"\x07\x00\x00" + RESP.replace(b"xOo=", b"xOp=") + b"\r\n")


# ----- connection: configuration, then operations -----
def cfg(flags, close_timeout=4, keepalive=(3, 0), limits=None, now=100):
    out = bytes([flags])
    if flags & 0x10:
        out += struct.pack("<HHBB", *limits)
    out += bytes([close_timeout])
    if flags & 8:
        out += bytes(keepalive)
    return out + struct.pack("<H", now)


def op_frame(opcode_index, payload, fin=True, server=True, wrong_mask=False):
    """Operation 1: a frame from fields (payload under 126 bytes)."""
    b = (1 if fin else 0) | (opcode_index << 1) | (0x20 if wrong_mask else 0)
    out = bytes([1, b, len(payload)])
    if server != wrong_mask:
        out += MASK
    return out + payload


def op_deliver(n=0):
    return bytes([3]) + struct.pack("<H", n)


def op_time(dt):
    return bytes([5, 1]) + struct.pack("<H", dt)


def op_send(text, data):
    return bytes([6, 1 if text else 0, len(data)]) + data


def op_ping(data, ping=True):
    return bytes([8, 1 if ping else 0, len(data)]) + data


def op_close(code_index, reason=b""):
    return bytes([9, code_index, len(reason)]) + reason


def op_peer(n=0xffff):
    return bytes([10]) + struct.pack("<H", n)


TEXT, BIN, CONT, CLOSE, PING, PONG = 1, 2, 0, 3, 4, 5
for role, server in (("server", True), ("client", False)):
    r = 0 if server else 1
    write("connection", f"{role}_echo",
          cfg(r | 4) + op_frame(TEXT, b"Hello", server=server) + op_deliver() + op_send(True, b"Hello")
          + op_frame(PING, b"are you there", server=server) + op_deliver(3) + op_deliver()
          + op_frame(CLOSE, b"\x03\xe8bye", server=server) + op_deliver() + op_peer())
    write("connection", f"{role}_fragments_streaming",
          cfg(r | 2 | 4) + op_frame(TEXT, "κόσ".encode()[:3], fin=False, server=server)
          + op_frame(PING, b"", server=server)
          + op_frame(CONT, "κόσμε".encode()[3:], server=server) + op_deliver(1) + op_deliver(2)
          + op_deliver(5) + op_deliver() + op_peer())
    write("connection", f"{role}_keepalive",
          cfg(r | 8 | 0x10, keepalive=(2, 1), limits=(100, 300, 16, 8))
          + op_time(0) + op_time(40) + op_peer(3) + op_time(40) + op_frame(PONG, b"", server=server)
          + op_deliver() + op_time(500) + op_time(500) + op_peer())
    write("connection", f"{role}_close_first",
          cfg(r) + op_send(False, b"\x00\x01\x02") + op_close(1, b"done") + op_send(True, b"late")
          + op_frame(BIN, b"x" * 50, server=server) + op_deliver() + op_time(0) + op_time(5000)
          + op_peer())
    write("connection", f"{role}_bad_utf8",
          cfg(r | 4) + op_frame(TEXT, b"ok\xed\xa0\x80", server=server) + op_deliver() + op_peer())
    write("connection", f"{role}_wrong_mask",
          cfg(r) + op_frame(BIN, b"abc", server=server, wrong_mask=True) + op_deliver() + op_peer())
