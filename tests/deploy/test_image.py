"""deploy/Dockerfile without a Docker engine: its shape (multi-stage, non-root, the command picks
the service), and its install step run for real, so the image's venv is known to work."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.artifacts import (
    COMMAND_SETTINGS,
    COMPOSE_FILE,
    DEPLOY,
    KUSTOMIZATIONS,
    compose_config,
    kustomize,
    run,
    tool,
)

DOCKERFILE = DEPLOY / "Dockerfile"


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, instruction: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == instruction]

    def environment(self) -> dict[str, str]:
        pairs = [shlex.split(rest) for rest in self.arguments("ENV")]
        return dict(pair.split("=", 1) for words in pairs for pair in words)


def stages() -> dict[str, Stage]:
    """The Dockerfile's stages by name, each with its instructions (continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "FROM":
            base, _, name = rest.partition(" AS ")
            current = found.setdefault(name.strip(), Stage(base.strip()))
        elif current is not None:
            current.instructions.append((instruction, rest.strip()))
    return found


def no_registry_host(image: str) -> bool:
    """True when an image reference names no registry host (Docker's own rule for one)."""
    first, slash, _ = image.partition("/")
    return not slash or not ("." in first or ":" in first or first == "localhost")


def test_the_image_builds_in_one_stage_and_runs_in_another_as_non_root() -> None:
    found = stages()
    assert list(found) == ["build", "runtime"]
    runtime = found["runtime"]
    assert runtime.base == found["build"].base == "python:${PYTHON_VERSION}-slim-bookworm"
    assert runtime.arguments("USER") == ["10001:10001"]
    assert runtime.arguments("ENTRYPOINT") == ['["initiatives"]']
    assert any("--from=build /opt/venv" in copy for copy in runtime.arguments("COPY"))


def test_no_image_names_a_registry_host() -> None:
    images = [stage.base for stage in stages().values()]
    images += [service["image"] for service in compose_config()["services"].values()]
    for directory in KUSTOMIZATIONS.values():
        images += [
            container["image"]
            for manifest in kustomize(directory)
            if manifest["kind"] in ("Deployment", "Job")
            for container in manifest["spec"]["template"]["spec"]["containers"]
        ]
    assert all(no_registry_host(image) for image in images), images
    assert "INITIATIVES_IMAGE" in COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runtime venv, installed by the Dockerfile's own ``uv sync`` commands and ENV."""
    venv = tmp_path_factory.mktemp("image") / "venv"
    build = stages()["build"]
    env = {**os.environ, **build.environment(), "UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    syncs = [shlex.split(rest) for rest in build.arguments("RUN") if rest.startswith("uv sync")]
    assert len(syncs) == 2, "dependencies first, then the project"
    for command in syncs:
        run([tool("uv"), *command[1:]], env=env)
    return venv


@pytest.mark.parametrize("command", sorted(COMMAND_SETTINGS))
def test_every_command_the_deployments_run_exists_in_the_image(
    image_venv: Path, command: str
) -> None:
    usage = run([str(image_venv / "bin" / "initiatives"), command, "--help"])
    assert "Usage: initiatives" in usage


def test_the_image_migrates_a_database_and_carries_no_dev_tools(
    image_venv: Path, tmp_path: Path
) -> None:
    env = {"PATH": f"{image_venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'initiatives.db'}"
    migrated = run([str(image_venv / "bin" / "initiatives"), "migrate"], cwd=tmp_path, env=env)
    assert migrated.startswith("database at revision")
    python = str(image_venv / "bin" / "python")
    probe = "import importlib.util as u; print([m for m in ('pytest', 'mypy') if u.find_spec(m)])"
    assert run([python, "-c", probe], cwd=tmp_path, env=env).strip() == "[]"
