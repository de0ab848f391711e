"""Which project files get synced: gitignore semantics (root and nested), .aitkignore, skipped folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aitk_inference.core.errors import ConfigError
from aitk_inference.core.sync.manifest import is_reserved
from aitk_inference.core.sync.walk import walk_project


def make(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def synced(root: Path) -> list[str]:
    return [f.path for f in walk_project(root, exclude=is_reserved)]


def test_skips_vcs_envs_caches_and_virtualenvs_by_marker(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app.py": "",
            ".git/config": "",
            ".venv/lib/x.py": "",
            "venv/lib/x.py": "",
            "node_modules/pkg/index.js": "",
            "pkg/__pycache__/m.cpython-311.pyc": "",
            "pkg/m.py": "",
            "myenv/pyvenv.cfg": "home = /usr/bin",
            "myenv/lib/site.py": "",
            "inference/model/config.json": "{}",
        },
    )
    assert synced(tmp_path) == ["app.py", "inference/model/config.json", "pkg/m.py"]


def test_gitignore_negation_anchoring_dir_only_and_double_star(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitignore": "\n".join(
                [
                    "# comment",
                    "*.log",
                    "!keep.log",
                    "/build",  # anchored: only the top-level one
                    "cache/",  # dir-only: a file named cache stays
                    "data/**/tmp",
                    "out/*",
                    "!out/final.bin",
                ]
            ),
            "a.log": "",
            "keep.log": "",
            "sub/b.log": "",
            "build/x.o": "",
            "sub/build/y.txt": "",
            "cache/blob": "",
            "sub/cache": "file named cache",
            "data/tmp": "",
            "data/x/y/tmp/z": "",
            "data/x/keep": "",
            "out/final.bin": "",
            "out/other.bin": "",
        },
    )
    assert synced(tmp_path) == [
        ".gitignore",
        "data/x/keep",
        "keep.log",
        "out/final.bin",
        "sub/build/y.txt",
        "sub/cache",
    ]


def test_nested_gitignore_is_relative_to_its_folder_and_overrides_parent(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitignore": "*.bin\n",
            "models/.gitignore": "!*.bin\n/local.txt\n",
            "models/w.bin": "",
            "models/local.txt": "",
            "models/deeper/local.txt": "",
            "other/w.bin": "",
        },
    )
    assert synced(tmp_path) == [
        ".gitignore",
        "models/.gitignore",
        "models/deeper/local.txt",
        "models/w.bin",
    ]


def test_excluded_folder_cannot_be_reincluded_as_in_git(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "secret/\n!secret/ok.txt\n", "secret/ok.txt": "", "x": ""})
    assert synced(tmp_path) == [".gitignore", "x"]


def test_aitkignore_adds_rules_and_wins_over_gitignore_in_same_folder(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".gitignore": "*.ckpt\n",
            ".aitkignore": "datasets/\n!final.ckpt\n",
            "datasets/train.jsonl": "",
            "epoch1.ckpt": "",
            "final.ckpt": "",
            "app.py": "",
        },
    )
    assert synced(tmp_path) == [".aitkignore", ".gitignore", "app.py", "final.ckpt"]


def test_reserved_names_are_never_synced(tmp_path: Path) -> None:
    make(tmp_path, {".aitk/sync-manifest.json": "{}", ".aitk/other.json": "", "d/.x.aitk-upload-1": ""})
    assert synced(tmp_path) == [".aitk/other.json"]


def test_symlinked_folder_is_followed_once_and_loops_end(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make(cache, {"weights.bin": "w"})
    project = tmp_path / "proj"
    make(project, {"app.py": ""})
    os.symlink(cache, project / "model")
    os.symlink(project, project / "model" / "loop")
    os.symlink(project / "missing", project / "dangling")
    warnings: list[str] = []
    files = walk_project(project, warn=warnings.append)
    assert [f.path for f in files] == ["app.py", "model/weights.bin"]
    assert any("dangling" in w for w in warnings)


def test_missing_project_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        walk_project(tmp_path / "nope")


def test_sizes_and_mtimes_are_reported(tmp_path: Path) -> None:
    make(tmp_path, {"a.txt": "hello"})
    (f,) = walk_project(tmp_path)
    assert (f.size, f.mtime_ns) == (5, (tmp_path / "a.txt").stat().st_mtime_ns)
    assert Path(f.abs_path) == (tmp_path / "a.txt").resolve()
