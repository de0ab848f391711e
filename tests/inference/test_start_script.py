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


def test_replicas_starting_together_with_the_same_pid_never_share_a_build_folder(tmp_path: Path) -> None:
    """Each replica runs ``bash -c "...; bash ./start.sh"`` as PID 1 of its own namespace, so ``$$``
    is the same everywhere. Two starts in two PID namespaces (``$$`` = 1 in both), slowed down so
    their builds overlap, must each build in a folder of their own and end on one complete venv."""
    mount = tmp_path / "mount"
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# nothing to install\n")
    slow_bin = tmp_path / "bin"
    slow_bin.mkdir()
    real_python = subprocess.run(
        ["bash", "-c", "command -v python3"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # python3 -m venv, slowed down: both builds are in progress at the same time.
    (slow_bin / "python3").write_text(f'#!/bin/sh\nsleep 1\nexec {real_python} "$@"\n')
    (slow_bin / "python3").chmod(0o755)
    env = dict(
        os.environ,
        AITK_MOUNT=str(mount),
        AITK_REQUIREMENTS=str(reqs),
        AITK_PREPARE_ONLY="1",
        PATH=f"{slow_bin}:{os.environ['PATH']}",
    )
    env.pop("AITK_PYTHON", None)
    # `echo $$` first proves the premise: both shells are PID 1.
    script = f'echo "pid=$$"; exec bash {START}'
    starts = [
        subprocess.Popen(
            ["unshare", "--pid", "--fork", "bash", "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in starts]
    for process, (out, err) in zip(starts, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.startswith("pid=1\n")
        assert "installing requirements" in out
    said = sorted(
        line
        for out, _ in outputs
        for line in out.splitlines()
        if line == "[start] venv ready" or line.startswith("[start] another replica")
    )
    venv_name = next(p.name for p in (mount / ".venvs").iterdir() if p.name.startswith("inference-"))
    venv = mount / ".venvs" / venv_name
    assert said == [
        f"[start] another replica built {venv} first; using it",
        "[start] venv ready",
    ]
    # One complete venv, no build folder left by either replica, and it works.
    assert sorted(p.name for p in (mount / ".venvs").iterdir()) == [venv_name]
    assert (venv / ".complete").is_file()
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "print(1)"], check=True).returncode == 0
