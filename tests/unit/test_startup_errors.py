"""What an operator sees when a setting or a server stops a command: the real ``initiatives``
process, one or two lines naming the variable and the host, exit status 2, no traceback
unless asked for. Refused ports answer at once, so nothing here waits for a timeout."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.processes import free_port
from services.demo.main import Secrets
from shared.web.secrets import new_secret

REFUSED_DATABASE = "postgresql://postgres@127.0.0.1:1/initiatives"
REFUSED_BROKER = "127.0.0.1:1"
SETTINGS = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "LOG_LEVEL")


@dataclass(frozen=True)
class Outcome:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """What stderr says (a progress bar may leave an empty line behind)."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def initiatives(cwd: Path, *command: str, **env: str) -> Outcome:
    """``initiatives <command>`` in ``cwd`` (so the embedded databases land there), with
    ``env`` and without the caller's database, broker or log level."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS and not name.startswith("INITIATIVES_")
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *command],
        env=environment | env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_told(outcome: Outcome, *mentions: str) -> None:
    assert outcome.status == 2, outcome.stderr
    assert 1 <= len(outcome.lines) <= 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    for mention in mentions:
        assert mention in outcome.stderr, outcome.stderr


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("")
    return path


ONE_SHOT = [
    pytest.param(["migrate"], id="migrate"),
    pytest.param(["load", "events.ndjson"], id="load"),
    pytest.param(["projector", "rebuild"], id="projector-rebuild"),
    pytest.param(["projector", "verify"], id="projector-verify"),
    pytest.param(["projector", "quarantine", "list"], id="quarantine-list"),
]


@pytest.mark.parametrize("command", ONE_SHOT)
def test_a_one_shot_command_names_the_database_that_does_not_answer(
    tmp_path: Path, events: Path, command: list[str]
) -> None:
    outcome = initiatives(tmp_path, *command, DATABASE_URL=REFUSED_DATABASE)

    assert_told(outcome, "DATABASE_URL", "127.0.0.1:1", "start PostgreSQL")


def test_the_demo_on_a_database_that_does_not_answer_stops_at_once(tmp_path: Path) -> None:
    outcome = initiatives(
        tmp_path, "demo", "--port", str(free_port()), DATABASE_URL=REFUSED_DATABASE
    )

    assert_told(outcome, "DATABASE_URL", "127.0.0.1:1")


def test_the_variable_is_named_as_the_operator_spelled_it(tmp_path: Path) -> None:
    outcome = initiatives(tmp_path, "migrate", INITIATIVES_DATABASE_URL=REFUSED_DATABASE)

    assert_told(outcome, "INITIATIVES_DATABASE_URL", "127.0.0.1:1")


@pytest.mark.parametrize(
    ("command", "url", "shown"),
    [
        ("migrate", "mysql://user@db.example/initiatives", "No module named 'MySQLdb'"),
        ("migrate", "http://db.example/initiatives", "sqlalchemy.dialects:http"),
        ("migrate", "notaurl", "'notaurl'"),
        ("api", "mysql://user@db.example/initiatives", "No module named 'MySQLdb'"),
        ("ingest", "notaurl", "'notaurl'"),
    ],
)
def test_a_database_url_that_can_never_work_stops_every_command_at_once(
    tmp_path: Path, command: str, url: str, shown: str
) -> None:
    """The services too: no retry makes such a URL work, so they neither serve nor wait."""
    outcome = initiatives(tmp_path, command, DATABASE_URL=url)

    assert_told(outcome, "DATABASE_URL", shown, "use postgresql://")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["load", "events.ndjson"], id="load"),
        pytest.param(["demo", "--no-simulate", "--port", "0"], id="demo"),
    ],
)
def test_a_one_shot_command_names_the_broker_that_does_not_answer(
    tmp_path: Path, events: Path, command: list[str]
) -> None:
    if command[0] == "demo":
        command[-1] = str(free_port())
    outcome = initiatives(tmp_path, *command, KAFKA_BOOTSTRAP_SERVERS=REFUSED_BROKER)

    assert_told(outcome, "KAFKA_BOOTSTRAP_SERVERS", REFUSED_BROKER, "start Kafka")


def test_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    outcome = initiatives(
        tmp_path,
        "projector",
        "quarantine",
        "list",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
    )

    assert_told(outcome, "empty.db", "run `initiatives migrate` first")


def test_every_bad_setting_is_one_line_naming_its_variable(tmp_path: Path) -> None:
    outcome = initiatives(
        tmp_path, "api", INITIATIVES_API_TOKENS="[1]", INITIATIVES_API_PAGE_SIZE="0"
    )

    assert_told(outcome, "INITIATIVES_API_TOKENS", "INITIATIVES_API_PAGE_SIZE")
    assert len(outcome.lines) == 2


def test_a_setting_that_is_not_json_names_its_variable(tmp_path: Path) -> None:
    outcome = initiatives(tmp_path, "ingest", INITIATIVES_INGEST_API_KEYS="{not json")

    assert_told(outcome, "INITIATIVES_INGEST_API_KEYS is not valid JSON")


def test_a_broker_port_no_server_can_have_stops_a_service_at_once(tmp_path: Path) -> None:
    """Not waited for: no retry makes the port exist."""
    outcome = initiatives(tmp_path, "ingest", KAFKA_BOOTSTRAP_SERVERS="broker:99999")

    assert_told(outcome, "KAFKA_BOOTSTRAP_SERVERS is not valid", "'broker:99999'")


@pytest.mark.parametrize(
    ("options", "env"), [(["--debug"], {}), ([], {"LOG_LEVEL": "DEBUG"})], ids=["option", "env"]
)
def test_debugging_shows_the_traceback_and_still_ends_with_the_fix(
    tmp_path: Path, options: list[str], env: dict[str, str]
) -> None:
    outcome = initiatives(tmp_path, *options, "migrate", DATABASE_URL=REFUSED_DATABASE, **env)

    assert outcome.status == 2
    assert "Traceback" in outcome.stderr
    assert "ConnectionRefusedError" in outcome.stderr
    assert outcome.lines[-1] == "start PostgreSQL or set DATABASE_URL to a reachable server"


def test_a_key_that_starts_with_a_dash_is_hashed_after_a_double_dash(tmp_path: Path) -> None:
    outcome = initiatives(tmp_path, "api-key-hash", "--", "-k3y")

    assert outcome.status == 0, outcome.stderr
    assert outcome.stdout.startswith("sha256:")


def test_made_secrets_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printed for the operator to paste into ``api-key-hash`` and friends."""
    made = iter(["-first", "_second"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _size: next(made))

    assert new_secret() == "_second"


def test_the_demo_makes_its_secrets_that_way(monkeypatch: pytest.MonkeyPatch) -> None:
    made = iter(["-a", "b", "-c", "d"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _size: next(made))

    assert Secrets.fresh() == Secrets(admin_token="b", portal_key="d")


def test_output_cut_short_by_its_reader_is_no_error_to_report(tmp_path: Path) -> None:
    """``initiatives bench --help | head``: the reader goes away, and the command stops
    without claiming that the database is unreachable."""
    command = f"{sys.executable} -m services.cli bench --help 2>errors | head -30"
    done = subprocess.run(
        ["sh", "-c", command],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(Path.cwd())},
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.stdout.decode().count("\n") == 30
    assert (tmp_path / "errors").read_text() == ""
