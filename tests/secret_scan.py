"""A pytest plugin: no key or token the suite issued may be written anywhere.

Every secret that passes through the emulator is collected when its fixture ends (the access tokens
in ``Authorization`` headers, the API keys and other Container Apps secret values, storage account
keys); tests add their own with :func:`remember`. When the session ends, every file under pytest's
base temp folder (projects, config files, emulator data, app logs) and ``test-artifacts/``, the
repository's ``infra/inference.config.json``, and every captured stdout/stderr/log section and
failure report are searched for each of them. A hit fails the session, naming the file and the
kind of secret, never the secret.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator

REPO = Path(__file__).resolve().parent.parent
_MIN_LENGTH = 12  # shorter values are not secrets worth the name (and would match by chance)
_MAX_FILE_BYTES = 64 * 1024 * 1024
_BEARER = re.compile(r"(?i)^bearer\s+(\S+)$")

_lock = threading.Lock()
_secrets: dict[str, str] = {}  # value -> kind
_captured: set[tuple[str, str]] = set()  # (where, text)


def remember(value: str | None, kind: str) -> None:
    """Count ``value`` as a secret issued during this session."""
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _secrets.setdefault(value, kind)


def harvest(emulator: Emulator) -> None:
    """Collect the secrets that went through ``emulator``: tokens, app secrets, storage keys."""
    for exchange in emulator.traffic.snapshot():
        headers = {k.lower(): v for k, v in exchange.request_headers.items()}
        match = _BEARER.match(headers.get("authorization", "").strip())
        if match:
            kind = "API key" if exchange.service == "ingress" else "access token"
            remember(match.group(1), kind)
        remember(headers.get("api-key"), "API key")
    arm = emulator.services.get("arm")
    for handler in getattr(arm, "handlers", {}).values():
        for state in getattr(handler, "apps", {}).values():
            for value in getattr(state, "secrets", {}).values():
                remember(value, "Container Apps secret (API key)")
    storage = emulator.services.get("storage")
    for keys in getattr(storage, "_keys", {}).values():
        for key in keys:
            remember(key, "storage account key")


def _files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
            continue
        # os.walk skips folders that vanish meanwhile (a runtime's scratch folder, a concurrent
        # pytest run pruning old base temp folders).
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                if path.is_file() and not path.is_symlink():
                    yield path


def leaks(roots: Iterable[Path], texts: Iterable[tuple[str, str]]) -> list[str]:
    """Where a remembered secret was found: ``"<path or section>: <kind>"``."""
    with _lock:
        secrets = dict(_secrets)
    if not secrets:
        return []
    pattern = re.compile(b"|".join(re.escape(s.encode()) for s in sorted(secrets, key=len, reverse=True)))
    found: list[str] = []
    for path in _files(roots):
        try:
            if path.stat().st_size > _MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        kinds = {secrets[m.group(0).decode()] for m in pattern.finditer(data)}
        found.extend(f"{path}: {kind}" for kind in sorted(kinds))
    for where, text in texts:
        kinds = {secrets[m.group(0).decode()] for m in pattern.finditer(text.encode())}
        found.extend(f"{where}: {kind}" for kind in sorted(kinds))
    return found


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A section's name says its phase ("Captured stdout call"); later reports repeat earlier sections.
    texts = [(f"{report.nodeid} {name}", content) for name, content in report.sections]
    if report.longrepr is not None:
        texts.append((f"{report.nodeid} ({report.when}) failure report", report.longreprtext))
    with _lock:
        _captured.update((where, text) for where, text in texts if text)


def scan_roots(config: pytest.Config) -> list[Path]:
    roots = [REPO / "test-artifacts", REPO / "infra" / "inference.config.json"]
    factory: Any = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        roots.append(Path(factory.getbasetemp()))
    return roots


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    with _lock:
        captured = sorted(_captured)
    found = leaks(scan_roots(session.config), captured)
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["secret scan: a key or token issued during the tests was written here:", *found]
    if reporter is not None:
        reporter.write_sep("=", "secret scan failed", red=True)
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
