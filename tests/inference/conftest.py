"""Runs the real inference app (``inference/app.py``) as a subprocess on a tiny model built on the fly."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.inference.tiny_model import build_share

APP = REPO / "inference" / "app.py"
MODEL_ID = "tiny-org/tiny-llama"
API_KEY = "test-key-" + secrets.token_urlsafe(16)


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    key: str = API_KEY

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(mount: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> RunningApp:
    port = free_port()
    env = dict(
        os.environ,
        AITK_MOUNT=str(mount),
        BASE_MODEL_ID=MODEL_ID,
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        INFERENCE_API_KEY=API_KEY,
        **(env or {}),
    )
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(APP), "--host", "127.0.0.1", "--port", str(port), *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"inference app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return RunningApp(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"inference app did not answer /health within 180 s:\n{log.read_text()[-3000:]}")


def stop_app(app: RunningApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        app.process.kill()


@pytest.fixture(scope="session")
def tiny_share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mount = tmp_path_factory.mktemp("mount")
    build_share(mount, MODEL_ID)
    return mount


@pytest.fixture(scope="session")
def lora_app(tiny_share: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tiny_share, tmp_path_factory.mktemp("logs") / "lora.log")
    yield app
    stop_app(app)


@pytest.fixture(scope="session")
def base_app(tiny_share: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tiny_share, tmp_path_factory.mktemp("logs") / "base.log", "--baseonly")
    yield app
    stop_app(app)


@pytest.fixture(scope="session")
def one_slot_app(tiny_share: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One request per forward pass and one waiting: a long request makes the next one wait, the third 429."""
    env = {"MAX_BATCH_REQUESTS": "1", "MAX_QUEUED_REQUESTS": "1"}
    app = start_app(tiny_share, tmp_path_factory.mktemp("logs") / "one-slot.log", env=env)
    yield app
    stop_app(app)
