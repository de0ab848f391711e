"""Incremental, crash-safe sync of a project folder to the root of an Azure file share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aitk_inference.core.reporting import CancellationToken, Progress


@dataclass(frozen=True)
class ShareTarget:
    """Where to sync. ``account_url`` is the storage account's ``primaryEndpoints.file``
    (discovered from ARM); ``account_key`` is a secret: never log or persist it."""

    account_url: str
    account_name: str
    share_name: str
    account_key: str

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"ShareTarget(account_url={self.account_url!r}, share_name={self.share_name!r})"


@dataclass(frozen=True)
class SyncResult:
    files_uploaded: int
    bytes_uploaded: int
    files_deleted: int
    files_unchanged: int
    requests: int  # HTTP requests made (for the benchmark's round-trip count)


async def sync_project(
    project: Path, target: ShareTarget, *, progress: Progress, cancel: CancellationToken
) -> SyncResult:
    raise NotImplementedError
