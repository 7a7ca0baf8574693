"""A closed-loop HTTP load: N clients each send GET requests back to back, in a process of its
own so the clients never take CPU from the server's process.

    python -m benchmarks.http_load http://127.0.0.1:8000/v1/units/vn/progress \\
        --token T --clients 50 --requests 2000 --warmup 100
    python -m benchmarks.http_load http://127.0.0.1:8000 --paths paths.txt --token T

With ``--paths`` (a file of paths, one a line) the requests go to those paths in turn, so
that many different answers are asked for at once. Prints one JSON object: p50_ms, p99_ms,
requests_per_s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import aiohttp

from benchmarks.report import Figures, percentile


async def load(urls: list[str], token: str, clients: int, requests: int) -> Figures:
    """Each of ``clients`` keeps one keep-alive connection and sends its next request as soon
    as the previous answer is read.

    aiohttp parses HTTP in C: with a pure-Python client (httpx was used before) the clients'
    own process took as much CPU as the server under test on a 2-core machine.
    """
    latencies: list[float] = []
    remaining = iter(range(requests))
    cycle = itertools.cycle(urls)
    # Idle connections are dropped well before uvicorn's 5 s keep-alive timeout closes them
    # from its side, which would race with a request sent on them.
    connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=1.0)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:

        async def one_client() -> None:
            for _ in remaining:
                sent = time.perf_counter()
                async with session.get(next(cycle)) as response:
                    response.raise_for_status()
                    await response.read()
                latencies.append(time.perf_counter() - sent)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "requests_per_s": requests / elapsed,
    }


async def main(urls: list[str], token: str, clients: int, requests: int, warmup: int) -> Figures:
    await load(urls, token, clients, warmup)
    return await load(urls, token, clients, requests)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the URL asked, or with --paths the server's base URL")
    parser.add_argument("--paths", help="a file of paths to ask in turn, one a line")
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args()
    urls = [args.url]
    if args.paths:
        with open(args.paths, encoding="utf-8") as listed:
            urls = [args.url.rstrip("/") + line.strip() for line in listed if line.strip()]
    figures = asyncio.run(main(urls, args.token, args.clients, args.requests, args.warmup))
    print(json.dumps(figures))
