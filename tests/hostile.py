"""Hostile input, made by mutating valid portal events and by bad values for every parameter.

A careless portal and an attacker send the same things: dates a thousand years off, numbers
where text belongs, control characters, lone surrogates, nesting thousands deep, fields that
are missing, doubled or enormous. ``mutants`` derives any number of them from valid events
(seeded, so a failure can be replayed with ``FUZZ_SEED``); ``BAD_VALUES`` are what every query
and path parameter of every operation is tried with.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

Event = dict[str, Any]

HOSTILE_VALUES: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    10**21,
    -(10**21),
    1.5e308,
    True,
    [],
    {},
    [[[[[[]]]]]],
    "a\u0000b",
    "\u0007bell",
    "\u202eright-to-left",
    "x" * 70_000,
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2022-13-45T25:61:61+07:00",
    "2022-05-12T10:00:00",
    1_650_000_000,
    "1650000000",
    "NaN",
    "../../etc/passwd",
    "'; DROP TABLE events; --",
    "<script>alert(1)</script>",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉",
    "0001-01-01",
    "9999-12-31",
]
"""Values a field of an event is replaced with."""

RAW_SPLICES: list[str] = [
    '"\\ud800"',
    '"\\udfff tail"',
    '"\\u0000"',
    "[" * 3000 + "]" * 3000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    "1e999999",
    "-0",
    "NaN",
    "Infinity",
]
"""JSON text (not Python values) spliced in where a value stands."""

BAD_VALUES: list[str] = [
    "",
    "-1",
    "0",
    str(10**21),
    str(-(10**21)),
    str(2**63),
    "1e309",
    "NaN",
    "a\u0000b",
    "\u0001",
    "%",
    "%ff",
    "x" * 5000,
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01",
    "9999-12-31",
    "3000-01-01T00:00:00+07:00",
    "2022-05-12T13:30:00 07:00",
    "../../../etc/passwd",
    "'; DROP TABLE rm_units; --",
    "<script>alert(1)</script>",
    "*",
    "true",
    "[]",
]
"""Values every path and query parameter of every operation is tried with."""


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path to every value in a JSON document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, (*prefix, index))


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


def _delete(document: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return {}
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return document


Mutation = Callable[[random.Random, Event], bytes]


def _dumped(document: Any) -> bytes:
    """JSON as a careless encoder writes it: a lone surrogate goes out as bytes no UTF-8
    decoder accepts."""
    return json.dumps(document, ensure_ascii=False).encode(errors="surrogatepass")


def _with_value(rng: random.Random, event: Event) -> bytes:
    path = rng.choice(list(_paths(event)))
    mutated = _replace(event, path, rng.choice(HOSTILE_VALUES))
    return _dumped(mutated)


def _without(rng: random.Random, event: Event) -> bytes:
    path = rng.choice(list(_paths(event)))
    return _dumped(_delete(event, path))


def _spliced(rng: random.Random, event: Event) -> bytes:
    """A value replaced by raw JSON text no Python value stands for."""
    path = rng.choice([p for p in _paths(event) if p])
    marker = "__SPLICE__"
    text = json.dumps(_replace(event, path, marker), ensure_ascii=False)
    return text.replace(json.dumps(marker), rng.choice(RAW_SPLICES), 1).encode(
        errors="surrogatepass"
    )


def _doubled_key(rng: random.Random, event: Event) -> bytes:
    text = json.dumps(event, ensure_ascii=False)
    key = rng.choice(list(event))
    doubled = text[:-1] + f', "{key}": {json.dumps(rng.choice(HOSTILE_VALUES))}}}'
    return doubled.encode(errors="surrogatepass")


def _cut(rng: random.Random, event: Event) -> bytes:
    raw = _dumped(event)
    return raw[: rng.randrange(len(raw))]


def _bytes_flipped(rng: random.Random, event: Event) -> bytes:
    raw = bytearray(_dumped(event))
    for _ in range(rng.randint(1, 4)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def _encoded_otherwise(rng: random.Random, event: Event) -> bytes:
    encoding = rng.choice(["utf-16", "utf-32", "latin-1"])
    return json.dumps(event, ensure_ascii=False).encode(
        encoding, "surrogatepass" if encoding != "latin-1" else "replace"
    )


MUTATIONS: list[Mutation] = [
    _with_value,
    _with_value,
    _with_value,
    _without,
    _spliced,
    _doubled_key,
    _cut,
    _bytes_flipped,
    _encoded_otherwise,
]


def mutants(valid: list[Event], count: int, seed: int) -> Iterator[bytes]:
    """``count`` hostile events, each one valid event with one to three mutations (the first
    may leave it valid; the rest are then applied to its decoded form when it still parses)."""
    rng = random.Random(seed)
    for _ in range(count):
        event = copy.deepcopy(rng.choice(valid))
        raw = rng.choice(MUTATIONS)(rng, event)
        for _ in range(rng.randint(0, 2)):
            try:
                event = json.loads(raw)
            except (ValueError, RecursionError):
                break
            if not isinstance(event, dict) or not event:
                break
            raw = rng.choice(MUTATIONS)(rng, event)
        yield raw
