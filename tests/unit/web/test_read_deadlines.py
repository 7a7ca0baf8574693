"""A client that sends half a request and then nothing is cut off, not kept forever; one that
sends its request in time is answered."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI

from shared.web import deadlines
from shared.web.serve import serving
from tests.processes import free_port


async def test_half_sent_requests_are_closed_and_whole_ones_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deadlines, "HEADER_SECONDS", 0.3)
    monkeypatch.setattr(deadlines, "BODY_SECONDS", 0.3)
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict[str, int]) -> dict[str, int]:
        return body

    port = free_port()
    async with serving("127.0.0.1", port) as (front, _):
        front.app = app
        await asyncio.sleep(0.2)
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(50)]
        for n, (_, writer) in enumerate(slow):
            if n % 2:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        closed = await asyncio.gather(
            *(asyncio.wait_for(reader.read(), timeout=3) for reader, _ in slow)
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n\r\n"
            b'{"a": 1}'
        )
        answer = await asyncio.wait_for(reader.read(), timeout=3)

    assert closed == [b""] * 50
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"a":1}')
