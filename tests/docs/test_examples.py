"""Every shell and HTTP example of README.md and docs/*.md works against the demo as written.

Requests go to one in-process demo (every API on one port, so a documented ``:8001`` or
``:8003`` is the same app), with ``$TOKEN``/``$ADMIN_TOKEN`` the admin token and
``$PORTAL_KEY`` the portal key; ``initiatives …`` lines are checked for existing commands and
options with ``--help``, ``make …`` for existing targets. See tests/docs/examples.py for what
is read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from services.cli import app as cli
from services.demo.main import DemoOptions, RunningDemo, running_demo
from tests.conftest import UTC7, FrozenClock
from tests.demo_settings import ADMIN, KEYS, demo_settings
from tests.docs.examples import (
    DEMO_SAMPLE,
    ROOT,
    CliCommand,
    Curl,
    Example,
    ExampleError,
    InlineGet,
    MakeTarget,
    Request,
    curl_request,
    documents,
    examples,
)

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC7)
"""The demo's first day as docs/query-api.md shows it."""
VARIABLES = {
    "TOKEN": KEYS.admin_token,
    "ADMIN_TOKEN": KEYS.admin_token,
    "PORTAL_KEY": KEYS.portal_key,
}
EXAMPLES = [example for doc in documents() for example in examples(doc)]


def of_kind(*kinds: type[Example]) -> list[pytest.ParameterSet]:
    return [pytest.param(e, id=e.name) for e in EXAMPLES if isinstance(e, kinds)]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docs-demo")


@pytest.fixture(scope="module")
async def demo(demo_dir: Path) -> AsyncIterator[RunningDemo]:
    options = DemoOptions(interval_seconds=0, sample_file=demo_dir / "sample.ndjson")
    settings = demo_settings(f"sqlite+aiosqlite:///{demo_dir / 'demo.db'}")
    async with running_demo(options, settings, Console(quiet=True), FrozenClock(NOW)) as running:
        yield running


@pytest.fixture(scope="module")
def written(demo: RunningDemo, demo_dir: Path) -> dict[str, bytes]:
    """Files the examples can send with ``@FILE``: the demo's sample, and what an earlier
    ``-o FILE`` kept (the examples run in the docs' order)."""
    return {DEMO_SAMPLE: (demo_dir / "sample.ndjson").read_bytes()}


def test_the_docs_have_examples_of_every_kind() -> None:
    """Guards the extraction itself: a parser that finds nothing would pass everything."""
    kinds = {type(example) for example in EXAMPLES}
    assert {Curl, InlineGet, CliCommand, MakeTarget} <= kinds
    assert sum(isinstance(example, Curl) for example in EXAMPLES) >= 5


@pytest.mark.parametrize("example", of_kind(Curl, InlineGet))
async def test_the_request_answers_as_documented(
    example: Curl | InlineGet, demo: RunningDemo, written: dict[str, bytes]
) -> None:
    if isinstance(example, Curl):
        files = written | {name: text.encode() for name, text in example.files.items()}
        try:
            request = curl_request(example.text, VARIABLES, files)
        except ExampleError as error:
            pytest.fail(f"{example.where}: {error}\n{example.text}", pytrace=False)
    else:
        request = Request("GET", example.text, tuple(ADMIN.items()), None, None, None)
    transport = httpx.ASGITransport(app=demo.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
        answer = await http.request(
            request.method, request.path, headers=list(request.headers), content=request.body
        )
    if request.expected is None and not answer.is_success:
        wanted = "2xx (or mark the command `# → NNN`)"
    elif request.expected is not None and answer.status_code != request.expected:
        wanted = str(request.expected)
    else:
        if request.output:
            written[request.output] = answer.content
        return
    pytest.fail(
        f"{example.where}: {request.method} {request.path} answered {answer.status_code},"
        f" the doc says {wanted}: {answer.text[:600]}\n{example.text}",
        pytrace=False,
    )


@pytest.mark.parametrize("example", of_kind(CliCommand))
def test_the_command_and_its_options_exist(example: CliCommand) -> None:
    result = CliRunner().invoke(cli, [*example.args, "--help"])
    if result.exit_code != 0:
        pytest.fail(
            f"{example.where}: `initiatives {' '.join(example.args)}` is refused:"
            f" {result.output}\n{example.text}",
            pytrace=False,
        )


@pytest.mark.parametrize("example", of_kind(MakeTarget))
def test_the_make_target_exists(example: MakeTarget) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    missing = [t for t in example.targets if not t.startswith("-") and t not in targets]
    if missing:
        pytest.fail(f"{example.where}: no Makefile target {missing}\n{example.text}", pytrace=False)
