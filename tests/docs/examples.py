"""The shell and HTTP examples of README.md and docs/*.md, as the test runs them.

A reader copies these into a terminal next to ``make demo``; each must work as written.
What is read:

- fenced blocks without a language or tagged ``bash``/``sh``/``shell``/``console``: each
  command (``\\`` continuations and quotes spanning lines joined) that starts with ``curl``
  becomes a request; ``uv run initiatives …`` (also inside ``$(…)`` or after ``kubectl exec
  … --``) a command line to check; ``make TARGET`` a Makefile target to check; anything else
  (docker, kubectl, exports) is not run;
- an inline ``GET /path`` in prose that names a concrete path (no ``{id}``, ``…``, ``|`` or
  empty ``name=``), outside headings, which document endpoints rather than show a call.

A request answers 2xx unless its command carries ``# → NNN`` (a doc showing an error on
purpose). ``curl -o FILE`` and ``> FILE`` keep the answer for a later ``@FILE``;
``var/demo-sample.ndjson`` is the running demo's sample.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
DEMO_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0"}
DEMO_SAMPLE = "var/demo-sample.ndjson"

_FENCE = re.compile(r"^\s*```(\w*)")
_MARKER = re.compile(r"#\s*(?:→|->)\s*(\d{3})\b")
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_INITIATIVES = re.compile(r"(?:\buv run (?:--\S+ )*|(?:^|\s)-- |^)initiatives\b(.*)", re.M)
_MAKE = re.compile(r"^make\b(.*)")
_INLINE_GET = re.compile(r"`GET (/[^`\s]*)`")
_TEMPLATE = re.compile(r"[{}…|]|=(&|$)")


class ExampleError(Exception):
    """The example cannot be run as written; the message says what in it."""


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def name(self) -> str:
        """The test's id: where, and the path for an inline request (a line may hold two)."""
        return self.where


@dataclass(frozen=True)
class Curl(Example):
    files: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Files written by the doc's earlier heredocs (``cat > FILE <<EOF``)."""


@dataclass(frozen=True)
class InlineGet(Example):
    @property
    def name(self) -> str:
        return f"{self.where} GET {self.text}"


@dataclass(frozen=True)
class CliCommand(Example):
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class MakeTarget(Example):
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Path and raw query, as curl would send them."""
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    output: str | None
    expected: int | None


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(path: Path) -> Iterator[Example]:
    """Every example of one document, in the order a reader meets them."""
    doc = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    files: dict[str, str] = {}
    number = 0
    while number < len(lines):
        fence = _FENCE.match(lines[number])
        if fence is None:
            if not lines[number].startswith("#"):
                for match in _INLINE_GET.finditer(lines[number]):
                    if not _TEMPLATE.search(match.group(1)):
                        yield InlineGet(doc, number + 1, match.group(1))
            number += 1
            continue
        end = next(
            (i for i in range(number + 1, len(lines)) if lines[i].strip().startswith("```")),
            len(lines),
        )
        if fence.group(1) in SHELL_BLOCKS:
            yield from _shell_examples(doc, lines, number + 1, end, files)
        number = end + 1


def _shell_examples(
    doc: str, lines: list[str], start: int, end: int, files: dict[str, str]
) -> Iterator[Example]:
    number = start
    while number < end:
        first = number
        text = lines[number]
        while _unfinished(text) and number + 1 < end:
            number += 1
            text = (text[:-1] if text.endswith("\\") else text + "\n") + lines[number]
        number += 1
        heredoc = re.match(r"cat\s*>\s*(\S+)\s*<<-?\s*['\"]?(\w+)", text.strip())
        if heredoc:
            stop = next(i for i in range(number, end) if lines[i].strip() == heredoc[2])
            files[heredoc[1]] = "".join(f"{line}\n" for line in lines[number:stop])
            number = stop + 1
            continue
        command = text.strip()
        if command.startswith("curl "):
            yield Curl(doc, first + 1, command, dict(files))
        elif make := _MAKE.match(command):
            yield MakeTarget(doc, first + 1, command, tuple(_words(make.group(1))))
        for match in _INITIATIVES.finditer(command):
            yield CliCommand(doc, first + 1, command, tuple(_words(match.group(1))))


def _unfinished(text: str) -> bool:
    """A line ending in ``\\`` or a quote left open: the command goes on."""
    if text.endswith("\\"):
        return True
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _words(text: str) -> Iterator[str]:
    """The words up to the end of the command: a pipe, ``;``, ``&&``, ``)`` or a comment."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    for word in lexer:
        if word and word[0] in ";&|()<>":
            return
        yield word


def substitute(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise ExampleError(f"${name} is not one of the demo's keys ({', '.join(variables)})")
        return variables[name]

    return _VARIABLE.sub(value, text)


def curl_request(command: str, variables: Mapping[str, str], files: Mapping[str, bytes]) -> Request:
    """What ``curl`` would send, for the options the docs use; any other is refused."""
    words = [substitute(word, variables) for word in shlex.split(command, comments=True)]
    marker = _MARKER.search(command)
    method: str | None = None
    url: str | None = None
    headers: list[tuple[str, str]] = []
    data: list[bytes] = []
    binary = get = False
    output: str | None = None
    rest = iter(words[1:])
    for word in rest:
        if word in {"-H", "--header"}:
            name, _, value = next(rest).partition(":")
            headers.append((name.strip(), value.strip()))
        elif word in {"-X", "--request"}:
            method = next(rest)
        elif word in {"-d", "--data", "--data-ascii"}:
            data.append(_data(next(rest), files).replace(b"\r", b"").replace(b"\n", b""))
        elif word in {"--data-binary", "--data-raw"}:
            value = next(rest)
            data.append(value.encode() if word == "--data-raw" else _data(value, files))
            binary = True
        elif word == "--data-urlencode":
            data.append(_urlencoded(next(rest), files))
        elif word in {"-G", "--get"}:
            get = True
        elif word in {"-o", "--output", ">"}:
            output = next(rest)
        elif word in {"|", ";", "&&"}:
            break
        elif re.fullmatch(r"-[sSfiLv]+|--(silent|show-error|fail|include|location)", word):
            continue
        elif word.startswith("-"):
            raise ExampleError(f"curl option {word} is not one the docs check knows")
        elif url is None:
            url = word
        else:
            raise ExampleError(f"a second URL {word!r}")
    if url is None:
        raise ExampleError("no URL")
    parts = urlsplit(url)
    if parts.hostname not in DEMO_HOSTS:
        raise ExampleError(f"{parts.hostname} is not where the demo serves")
    query = parts.query
    body = None
    if data and get:
        query = "&".join(filter(None, [query, *(d.decode() for d in data)]))
    elif data:
        body = b"&".join(data)
        if not any(name.lower() == "content-type" for name, _ in headers) and not binary:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    return Request(
        method=method or ("POST" if body is not None else "GET"),
        path=(parts.path or "/") + (f"?{query}" if query else ""),
        headers=tuple(headers),
        body=body,
        output=output,
        expected=int(marker.group(1)) if marker else None,
    )


def _data(value: str, files: Mapping[str, bytes]) -> bytes:
    if not value.startswith("@"):
        return value.encode()
    name = value[1:]
    if name not in files:
        raise ExampleError(f"@{name}: no earlier example of this doc writes it")
    return files[name]


def _urlencoded(value: str, files: Mapping[str, bytes]) -> bytes:
    """curl's forms: ``content``, ``=content``, ``name=content``, ``@file``, ``name@file``."""
    name, equals, content = value.partition("=")
    if equals and name:
        return f"{name}={quote_plus(content)}".encode()
    if not equals and "@" in value:
        name, _, file = value.partition("@")
        encoded = quote_plus(_data(f"@{file}", files).decode())
        return f"{name}={encoded}".encode() if name else encoded.encode()
    return quote_plus(content if equals else value).encode()
