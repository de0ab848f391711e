"""State shared by the ARM storage provider and the Azure Files data plane.

ARM creates accounts (with keys) and shares; the data plane authenticates with those keys and keeps
each share's bytes in ``emulator.data_dir / account / share`` (so tests can look at what landed, and the
local runtime can mount it as /mount). File metadata lives outside that folder, under ``root/files-meta``.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.azure_emulator.server import Emulator


@dataclass
class StorageRegistry:
    data_dir: Path
    meta_dir: Path
    _keys: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_account(self, account: str) -> list[str]:
        """Create the account's two keys on first sight; return them (idempotent, like a re-PUT)."""
        with self._lock:
            if account not in self._keys:
                self._keys[account] = [base64.b64encode(os.urandom(64)).decode() for _ in range(2)]
            (self.data_dir / account).mkdir(parents=True, exist_ok=True)
            return list(self._keys[account])

    def keys(self, account: str) -> list[str] | None:
        with self._lock:
            return list(self._keys[account]) if account in self._keys else None

    def delete_account(self, account: str) -> None:
        with self._lock:
            self._keys.pop(account, None)

    def share_path(self, account: str, share: str) -> Path:
        return self.data_dir / account / share

    def ensure_share(self, account: str, share: str) -> Path:
        """Create the share's folder if missing; existing contents are kept (re-PUT reuses)."""
        path = self.share_path(account, share)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def share_exists(self, account: str, share: str) -> bool:
        # os.path, not Path: this runs once per file request
        return os.path.isdir(os.path.join(self.data_dir, account, share))


def get_registry(emulator: Emulator) -> StorageRegistry:
    reg = emulator.services.get("storage")
    if reg is None:
        reg = StorageRegistry(emulator.data_dir, emulator.root / "files-meta")
        emulator.services["storage"] = reg
    assert isinstance(reg, StorageRegistry)
    return reg
