"""The suite-wide hook: off-spec emulator traffic is caught from what the emulator really served."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from tests.azure_emulator import tokens
from tests.azure_emulator.fidelity.hook import spec_mismatches
from tests.azure_emulator.routing import RequestContext, json_response
from tests.azure_emulator.server import Emulator
from tests.conftest import REPO

SUB = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"
USAGES = f"/subscriptions/{SUB}/providers/Microsoft.App/locations/eastus/usages"


def _serve_bad_usages(emu: Emulator) -> None:
    """A deliberately broken handler, registered ahead of the emulator's own routes."""

    async def bad(ctx: RequestContext) -> web.StreamResponse:
        return json_response({"value": [{"unit": "Count", "currentValue": "zero", "limit": 1, "name": {}}]})

    emu.arm_router.add("GET", USAGES, bad)
    emu.arm_router.routes.insert(0, emu.arm_router.routes.pop())  # first match wins


def _get(emu: Emulator, path: str) -> int:
    ctx = ssl.create_default_context(cafile=str(emu.ca_path))
    req = urllib.request.Request(
        f"{emu.arm_url}{path}?api-version=2026-07-01", headers={"Authorization": tokens.bearer()}
    )
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            json.loads(resp.read())
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_hook_reports_off_spec_response_served_over_https(emulator: Emulator, azure_reference: Path) -> None:
    _serve_bad_usages(emulator)
    assert _get(emulator, USAGES) == 200
    problems = spec_mismatches(emulator.traffic.snapshot(), azure_reference)
    assert problems is not None
    assert (
        "Usages_List" in problems
        and "at response/value/0/currentValue: 'zero' is not of type 'number'" in problems
    )
    assert "@pytest.mark.no_fidelity(reason=...)" in problems
    emulator.traffic.clear()  # this test provoked it on purpose; the fixture's own check must pass


def test_hook_accepts_spec_conformant_traffic(emulator: Emulator, azure_reference: Path) -> None:
    status = _get(
        emulator, f"/subscriptions/{SUB}/resourceGroups/missing-rg/providers/Microsoft.App/containerApps/x"
    )
    assert status == 404  # resource group or route missing: either way an ARM error
    assert spec_mismatches(emulator.traffic.snapshot(), azure_reference) is None


def test_hook_needs_the_reference_data(tmp_path: Path) -> None:
    problems = spec_mismatches([], tmp_path / "nowhere")
    assert problems is not None and "Azure reference data not found" in problems


@pytest.mark.no_fidelity(reason="serves an off-spec usages body on purpose")
def test_marker_opts_a_test_out(emulator: Emulator) -> None:
    _serve_bad_usages(emulator)
    assert _get(emulator, USAGES) == 200  # off-spec, yet the fixture does not fail this test


OFF_SPEC_TEST = """
import json, ssl, urllib.request
import pytest
from tests.azure_emulator import tokens
from tests.azure_emulator.routing import json_response

USAGES = "/subscriptions/3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c/providers/Microsoft.App/locations/eastus/usages"

def serve_off_spec(emulator):
    async def bad(ctx):
        return json_response({"value": [{"unit": "Count", "currentValue": "zero", "limit": 1, "name": {}}]})
    emulator.arm_router.add("GET", USAGES, bad)
    emulator.arm_router.routes.insert(0, emulator.arm_router.routes.pop())
    req = urllib.request.Request(emulator.arm_url + USAGES + "?api-version=2026-07-01", headers={"Authorization": tokens.bearer()})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=str(emulator.ca_path))) as resp:
        assert resp.status == 200

def test_off_spec(emulator):
    serve_off_spec(emulator)

@pytest.mark.no_fidelity(reason="on purpose")
def test_opted_out(emulator):
    serve_off_spec(emulator)
"""


def test_fixture_fails_a_test_whose_traffic_is_off_spec(tmp_path: Path) -> None:
    """The real wiring: tests/conftest.py's emulator fixture turns a mismatch into a test error."""
    test_file = tmp_path / "test_off_spec.py"
    test_file.write_text(OFF_SPEC_TEST)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-c",
            "pyproject.toml",  # the project's markers (no_fidelity) and settings
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            str(test_file),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # Both calls pass; the off-spec one errors at teardown, the opted-out one does not.
    assert "2 passed, 1 error" in proc.stdout and "warning" not in proc.stdout, proc.stdout
    assert "ERROR at teardown of test_off_spec" in proc.stdout
    assert "at response/value/0/currentValue: 'zero' is not of type 'number'" in proc.stdout
