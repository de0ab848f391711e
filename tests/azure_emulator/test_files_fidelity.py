"""Fidelity proof for Azure Files: every real-Azure recording replayed against the emulator must get
responses of the same structure (status, headers the SDK reads and their value kinds, XML shape)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.azure_emulator.files import recordings
from tests.azure_emulator.server import Emulator
from tests.azure_emulator.storage_registry import get_registry
from tests.conftest import AZURE_REFERENCE

RECORDING_FILES = sorted((AZURE_REFERENCE / recordings.RECORDINGS).glob("*.json"))


def test_recordings_are_present() -> None:
    assert len(RECORDING_FILES) >= 10, (
        f"expected the Azure Files recordings under {AZURE_REFERENCE / recordings.RECORDINGS}"
    )


@pytest.mark.parametrize("recording", RECORDING_FILES, ids=lambda p: p.stem.split(".py")[-1])
def test_replay_matches_recorded_structure(emulator: Emulator, recording: Path) -> None:
    entries = recordings.load(recording)
    account = recordings.account_from(entries)
    registry = get_registry(emulator)
    key = registry.ensure_account(account)[0]
    for share in recordings.preexisting_shares(entries):
        registry.ensure_share(account, share)
    replayer = recordings.Replayer(emulator.file_url, account, key, str(emulator.ca_path))
    mismatches = []
    for index, entry in enumerate(entries):
        status, headers, body = replayer.send(entry)
        found = recordings.compare(index, entry, status, headers, body)
        if found:
            mismatches.append(str(found))
    assert not mismatches, f"{recording.name}:\n" + "\n".join(mismatches)


def test_comparer_fails_on_missing_header_element_or_status(emulator: Emulator) -> None:
    """The comparison is strict: dropping one header or one XML element, or a wrong status, is caught."""
    recording = next(p for p in RECORDING_FILES if "include_other_data" in p.name)
    entries = recordings.load(recording)
    account = recordings.account_from(entries)
    key = get_registry(emulator).ensure_account(account)[0]
    replayer = recordings.Replayer(emulator.file_url, account, key, str(emulator.ca_path))
    responses = [replayer.send(entry) for entry in entries]

    index = 1  # directory create
    status, headers, body = responses[index]
    assert recordings.compare(index, entries[index], status, headers, body) is None
    without_id = {k: v for k, v in headers.items() if k.lower() != "x-ms-file-id"}
    assert "missing header x-ms-file-id" in str(
        recordings.compare(index, entries[index], status, without_id, body)
    )
    assert "status 200" in str(recordings.compare(index, entries[index], 200, headers, body))
    bad_kind = {**headers, "x-ms-file-creation-time": "yesterday"}
    assert "value kind" in str(recordings.compare(index, entries[index], status, bad_kind, body))

    index = 11  # listing with timestamps, ETag, attributes, permission key
    status, headers, body = responses[index]
    assert recordings.compare(index, entries[index], status, headers, body) is None
    trimmed = body.replace(b"<PermissionKey>", b"<Other>").replace(b"</PermissionKey>", b"</Other>")
    problems = str(recordings.compare(index, entries[index], status, headers, trimmed))
    assert "missing XML EnumerationResults/Entries/File/PermissionKey:text" in problems
