"""Transport-level behaviour: HTTPS with the throw-away CA, auth challenge, faults, CLI entry point."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.azure_emulator import tokens
from tests.azure_emulator.server import Emulator
from tests.conftest import REPO


def _get(
    emu: Emulator, path: str, token: str | None = tokens.issue(tokens.HOME_TENANT, tokens.DEFAULT_RESOURCE)[0]
) -> tuple[int, dict[str, str], bytes]:
    ctx = ssl.create_default_context(cafile=str(emu.ca_path))
    req = urllib.request.Request(emu.arm_url + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_https_only_trusted_with_emulator_ca(emulator: Emulator) -> None:
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(emulator.arm_url + "/_emulator/info", context=ssl.create_default_context())
    status, _, body = _get(emulator, "/_emulator/info")
    assert status == 200 and json.loads(body)["arm"] == emulator.arm_url


def test_missing_bearer_gets_401_challenge(emulator: Emulator) -> None:
    status, headers, body = _get(emulator, "/subscriptions?api-version=2022-12-01", token=None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert json.loads(body)["error"]["code"] == "AuthenticationFailed"


def test_injected_429_carries_retry_after_then_clears(emulator: Emulator) -> None:
    emulator.faults.add(
        service="arm", path="/_emulator/info", status=429, code="TooManyRequests", retry_after=3, times=1
    )
    status, headers, body = _get(emulator, "/_emulator/info")
    assert (status, headers["Retry-After"], json.loads(body)["error"]["code"]) == (
        429,
        "3",
        "TooManyRequests",
    )
    assert _get(emulator, "/_emulator/info")[0] == 200


def test_cli_prints_one_json_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.azure_emulator", "--data", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert set(info) == {"arm", "ca", "data"} and info["arm"].startswith("https://127.0.0.1:")
        assert _get_ca(info) == 200
    finally:
        proc.kill()
        proc.wait()


def _get_ca(info: dict[str, str]) -> int:
    ctx = ssl.create_default_context(cafile=info["ca"])
    with urllib.request.urlopen(info["arm"] + "/_emulator/info", context=ctx) as resp:
        return int(resp.status)
