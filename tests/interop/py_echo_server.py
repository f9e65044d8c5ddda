#!/usr/bin/env python3
"""A WebSocket server on Python `websockets`, for the client interop tests.

Listens on 127.0.0.1 on a port the system picks and prints that port on the
first line of stdout. The request path picks the behaviour:

  /echo          echoes every message with its type (any other path too)
  /ping          pings ("py-ping"), waits for the pong, sends "pong received",
                 then echoes
  /fragmented    sends the text "fragmented" in three fragments, then echoes
  /close/<code>  closes with <code> and the reason "bye <code>" at once
  /abrupt        drops the TCP connection without a close frame

Messages up to 64 MiB; no compression. Exits by itself after --lifetime
seconds (default 60).
"""
import argparse
import asyncio

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def handler(ws):
    try:
        await behave(ws, ws.request.path)
    except ConnectionClosed:
        pass  # a client that drops the connection is part of the tests


async def behave(ws, path):
    if path.startswith("/close/"):
        code = int(path.split("/")[2])
        await ws.close(code, f"bye {code}")
        return
    if path == "/abrupt":
        ws.transport.close()  # FIN, no close frame
        return
    if path == "/ping":
        pong = await ws.ping(b"py-ping")
        await asyncio.wait_for(pong, 10)
        await ws.send("pong received")
    if path == "/fragmented":
        await ws.send(["frag", "men", "ted"])
    async for message in ws:
        await ws.send(message)


async def main(lifetime):
    async with serve(
        handler,
        "127.0.0.1",
        0,
        compression=None,
        max_size=64 << 20,
        ping_interval=None,
        write_limit=1 << 20,
    ) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.sleep(lifetime)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifetime", type=float, default=60)
    asyncio.run(main(parser.parse_args().lifetime))
