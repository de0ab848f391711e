"""Shared fixtures: a running Azure emulator and an environment that points real Azure SDKs at it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.azure_emulator.fidelity import hook as fidelity_hook
from tests.azure_emulator.server import Emulator, EmulatorThread

# secret_scan: no key or token the suite issued may land in a file or a captured log (see there).
pytest_plugins = ["tests.secret_scan", "pytester"]

REPO = Path(__file__).resolve().parent.parent
FAKE_AZ_DIR = REPO / "tests" / "azure_emulator" / "fake_az"


def _find_azure_reference() -> Path:
    """The public Azure reference data (specs, schemas, recordings) lives outside the repo in
    ``shared/azure-reference`` beside the checkout. A clone made elsewhere (``git clone /work/main
    /tmp/x``) finds it beside the repository it was cloned from; AITK_AZURE_REFERENCE overrides."""
    if env := os.environ.get("AITK_AZURE_REFERENCE"):
        return Path(env)
    candidates = [REPO.parent / "shared" / "azure-reference"]
    try:
        origin = subprocess.run(
            ["git", "-C", str(REPO), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        origin = ""
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / "shared" / "azure-reference")
    return next((c for c in candidates if c.is_dir()), candidates[0])


AZURE_REFERENCE = _find_azure_reference()


@pytest.fixture
def emulator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A fresh emulator per test, running on its own thread; stopped afterwards.

    Afterwards every ARM exchange the test caused is validated against the official Azure REST
    specs (tests/azure_emulator/fidelity); a mismatch fails the test at teardown. Tests that send
    malformed requests on purpose opt out with ``@pytest.mark.no_fidelity(reason=...)``.
    """
    runner = EmulatorThread(Emulator(tmp_path / "emulator"))
    emu = runner.start()
    emu.runner = runner  # type: ignore[attr-defined]  # lets tests run coroutines on its loop
    try:
        yield emu
    finally:
        runner.stop()
        from tests import secret_scan  # loaded by pytest_plugins above (imported late for assert rewriting)

        secret_scan.harvest(emu)
    opt_out = request.node.get_closest_marker(fidelity_hook.MARKER)
    if opt_out is None:
        problems = fidelity_hook.spec_mismatches(emu.traffic.snapshot(), AZURE_REFERENCE)
        if problems:
            pytest.fail(problems, pytrace=False)
    elif not (opt_out.kwargs.get("reason") or opt_out.args):
        pytest.fail(
            f"@pytest.mark.{fidelity_hook.MARKER} needs a reason=... saying why the traffic is off-spec"
        )


def emulator_env(emu: Emulator) -> dict[str, str]:
    """Environment a user of a sovereign cloud would set, pointed at the emulator.

    Tokens come from the real AzureCliCredential running the ``az`` stand-in; no credential
    may probe the managed-identity endpoint (169.254.169.254 is off limits here).
    """
    return {
        "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.arm_url,
        "REQUESTS_CA_BUNDLE": str(emu.ca_path),
        "SSL_CERT_FILE": str(emu.ca_path),
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        "PATH": f"{FAKE_AZ_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@pytest.fixture
def azure_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Applies :func:`emulator_env` to this process for the test; returns it (for subprocesses)."""
    env = emulator_env(emulator)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in (
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
    ):
        monkeypatch.delenv(key, raising=False)
    return env


@pytest.fixture
def azure_reference() -> Path:
    if not AZURE_REFERENCE.is_dir():
        pytest.fail(
            f"Azure reference data not found at {AZURE_REFERENCE} (expected ../shared/azure-reference beside the repo)"
        )
    return AZURE_REFERENCE
