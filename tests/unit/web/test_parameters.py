"""Instants in a query string: an unencoded ``+`` is named as the cause, not as "extra
characters" (the docs' own example once sent one)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import httpx
from fastapi import FastAPI, Query

from shared.web.parameters import Instant


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/at")
    async def at(as_of: Annotated[Instant, Query()]) -> str:
        return as_of.isoformat()

    return api


async def get(query: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get(f"/at?{query}")


async def test_an_encoded_plus_is_the_offset() -> None:
    answer = await get("as_of=2022-05-12T13:30:00%2B07:00")
    assert answer.status_code == 200
    assert dt.datetime.fromisoformat(answer.json()).utcoffset() == dt.timedelta(hours=7)


async def test_an_unencoded_plus_is_refused_with_the_fix() -> None:
    answer = await get("as_of=2022-05-12T13:30:00+07:00")
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["query", "as_of"]
    assert "'+' was not URL-encoded" in error["msg"]
    assert "2022-05-12T13:30:00%2B07:00" in error["msg"]


async def test_other_malformed_instants_keep_pydantics_reason() -> None:
    answer = await get("as_of=2022-05-12T13:30:00")
    assert answer.status_code == 422
    assert "URL-encoded" not in answer.json()["detail"][0]["msg"]
