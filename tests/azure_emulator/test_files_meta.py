"""The Azure Files sidecar store: changes survive a reload from its folder, whether or not the
journal was compacted first (a killed emulator), and a torn last journal line is ignored."""

from __future__ import annotations

import json
from pathlib import Path

from azure.storage.fileshare import ShareServiceClient

from tests.azure_emulator.files.meta import MetaStore
from tests.azure_emulator.server import Emulator, EmulatorThread
from tests.azure_emulator.storage_registry import get_registry


def _populate(tmp_path: Path) -> tuple[MetaStore, Path]:
    root = tmp_path / "share"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("a")
    (root / "b.py").write_text("b")
    store = MetaStore(tmp_path / "meta")
    meta = store.share("acct", "s", root)
    meta.share_props().metadata = {"team": "x"}
    meta.save()
    for rel in ("pkg", "pkg/a.py", "b.py"):
        entry = meta.new_entry("dir" if rel == "pkg" else "file")
        entry.metadata = {"name": rel}
        meta.put(rel, entry)
    (root / "pkg").rename(root / "lib")
    meta.move("pkg", "lib")
    (root / "b.py").unlink()
    meta.remove("b.py")
    return store, root


def _expect(meta_dir: Path, root: Path, before: dict[str, str]) -> None:
    meta = MetaStore(meta_dir).share("acct", "s", root)
    assert {k: e.file_id for k, e in meta.entries.items()} == before
    assert meta.entries["lib/a.py"].metadata == {"name": "pkg/a.py"}
    assert meta.share_props().metadata == {"team": "x"}


def test_reload_after_close(tmp_path: Path) -> None:
    store, root = _populate(tmp_path)
    before = {k: e.file_id for k, e in store.share("acct", "s", root).entries.items()}
    assert set(before) == {"lib", "lib/a.py"}
    store.close()
    assert not (tmp_path / "meta" / "acct" / "s.journal").exists()
    _expect(tmp_path / "meta", root, before)


def test_reload_from_journal_with_torn_tail(tmp_path: Path) -> None:
    store, root = _populate(tmp_path)
    before = {k: e.file_id for k, e in store.share("acct", "s", root).entries.items()}
    journal = tmp_path / "meta" / "acct" / "s.journal"
    assert journal.stat().st_size > 0  # nothing compacted: only the journal holds the changes
    with open(journal, "a") as fh:
        fh.write('{"op": "put", "path": "half')  # killed mid-write
    _expect(tmp_path / "meta", root, before)


def test_drop_share_forgets_everything(tmp_path: Path) -> None:
    store, root = _populate(tmp_path)
    store.drop_share("acct", "s")
    assert not list((tmp_path / "meta" / "acct").iterdir())
    assert MetaStore(tmp_path / "meta").share("acct", "s", root).entries == {}


def test_emulator_stop_folds_the_journal(tmp_path: Path) -> None:
    """Through the SDK: changes go to the journal while the emulator runs, into the snapshot at stop."""
    runner = EmulatorThread(Emulator(tmp_path / "emu"))
    emulator = runner.start()
    try:
        key = get_registry(emulator).ensure_account("acct")[0]
        svc = ShareServiceClient(
            f"{emulator.file_url}/acct", credential=key, connection_verify=str(emulator.ca_path)
        )
        share = svc.create_share("s")
        share.create_directory("pkg")
        share.get_file_client("pkg/a.py").upload_file(b"print()", metadata={"k": "v"})
        journal = tmp_path / "emu" / "files-meta" / "acct" / "s.journal"
        assert journal.stat().st_size > 0
    finally:
        runner.stop()
    assert not journal.exists()
    snapshot = json.loads(journal.with_suffix(".json").read_text())
    assert snapshot["entries"]["pkg/a.py"]["metadata"] == {"k": "v"}
    assert snapshot["entries"]["pkg"]["kind"] == "dir"
