"""What an operator sees: `initiatives dead-letters` and `initiatives parked` print one line
per letter or fact, `show` prints the whole letter, and instants must carry their zone."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.cli import app as cli
from services.samples.portal_events import reviewed, small_tree, submitted
from tests.unit.ingest.files import embedded_env, write_ndjson


def loaded(tmp_path: Path) -> tuple[dict[str, str | None], Path]:
    """An embedded database after a load with a bad line, a naive timestamp and an
    approval of an initiative never submitted (parked)."""
    env = embedded_env(tmp_path / "ops.db")
    path = write_ndjson(
        tmp_path / "export.ndjson",
        [
            *small_tree(),
            "{not json",
            submitted("sk-2", "bk-cdcs-1", at="2022-05-12T10:00:00", event_id="naive"),
            reviewed("initiative.approved", "sk-9", event_id="approve-9"),
        ],
    )
    CliRunner().invoke(cli, ["load", str(path)], env=env)
    return env, path


def test_dead_letters_list_prints_one_line_per_letter_with_its_file_and_line(
    tmp_path: Path,
) -> None:
    env, path = loaded(tmp_path)

    result = CliRunner().invoke(cli, ["dead-letters", "list"], env=env)
    only_naive = CliRunner().invoke(
        cli, ["dead-letters", "list", "--code", "naive_timestamp"], env=env
    )

    assert result.exit_code == 0, result.output
    [bad_json, naive] = [line for line in result.stdout.splitlines() if f"{path}:" in line]
    assert bad_json.split("│")[3:5] == [" malformed_json  ", f" {path}:7 "]
    assert naive.split("│")[3:5] == [" naive_timestamp ", f" {path}:8 "]
    assert "2 of 2 shown" in result.stdout
    assert "malformed_json" not in only_naive.stdout
    assert "1 of 1 shown" in only_naive.stdout


def test_dead_letters_show_prints_the_whole_letter_and_its_payload_as_text(
    tmp_path: Path,
) -> None:
    env, path = loaded(tmp_path)

    result = CliRunner().invoke(cli, ["dead-letters", "show", "1"], env=env)
    missing = CliRunner().invoke(cli, ["dead-letters", "show", "99"], env=env)

    assert result.exit_code == 0, result.output
    assert "malformed_json" in result.stdout
    assert f"{path}:7" in result.stdout
    assert result.stdout.rstrip().endswith("{not json")
    assert (missing.exit_code, missing.stderr.strip()) == (1, "no dead letter 99")


def test_a_naive_instant_is_refused_with_how_to_write_it(tmp_path: Path) -> None:
    env, _ = loaded(tmp_path)

    result = CliRunner().invoke(
        cli, ["dead-letters", "list", "--since", "2022-05-12T13:30:00"], env=env
    )
    aware = CliRunner().invoke(
        cli, ["dead-letters", "list", "--since", "2022-05-12T13:30:00+07:00"], env=env
    )

    assert result.exit_code == 2
    assert "no UTC offset" in result.output
    assert "2022-05-12T13:30:00+07:00" in result.output
    assert aware.exit_code == 0


def test_replay_and_retry_dry_runs_say_what_would_happen_and_exit_1_when_not_all_would_go_in(
    tmp_path: Path,
) -> None:
    env, _ = loaded(tmp_path)

    replay = CliRunner().invoke(cli, ["dead-letters", "replay", "--dry-run"], env=env)
    retry = CliRunner().invoke(cli, ["parked", "retry", "--dry-run"], env=env)
    listed = CliRunner().invoke(cli, ["parked", "list"], env=env)

    assert replay.exit_code == 1
    assert "still malformed_json: would stay" in replay.stdout
    assert "portal event" not in replay.stderr
    assert retry.exit_code == 1
    assert "still unknown_initiative: would stay parked" in retry.stdout
    assert "approve-9" in listed.stdout
    assert "1 of 1 shown" in listed.stdout


def test_from_kafka_needs_kafka(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["dead-letters", "list", "--from-kafka"], env=embedded_env(tmp_path / "x.db")
    )

    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "--from-kafka needs KAFKA_BOOTSTRAP_SERVERS",
    )
