"""``inference/start.sh``: the venv on the share is built once per requirements.txt and reused after."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO

START = REPO / "inference" / "start.sh"


def run_start(mount: Path, requirements: Path) -> str:
    env = dict(os.environ, AITK_MOUNT=str(mount), AITK_REQUIREMENTS=str(requirements), AITK_PREPARE_ONLY="1")
    env.pop("AITK_PYTHON", None)
    done = subprocess.run(
        ["bash", str(START)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_venv_built_once_then_reused_and_rebuilt_on_change(tmp_path: Path) -> None:
    mount = tmp_path / "mount"
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# nothing to install\n")
    first = run_start(mount, reqs)
    assert "installing requirements" in first
    venvs = sorted(p.name for p in (mount / ".venvs").iterdir())
    assert len(venvs) == 1 and venvs[0].startswith("inference-")
    assert (mount / ".venvs" / venvs[0] / ".complete").is_file()

    second = run_start(mount, reqs)
    assert "reusing" in second and "installing" not in second

    reqs.write_text("# changed requirements\n")
    third = run_start(mount, reqs)
    assert "installing requirements" in third
    assert len(list((mount / ".venvs").iterdir())) == 2
    # No half-built venv is left behind under its temporary name.
    assert not [p for p in (mount / ".venvs").iterdir() if p.name.startswith(".building")]
