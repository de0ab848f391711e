"""Which files of a project folder get synced: gitignore semantics plus the folders no app needs.

Rules, as git applies them: every ``.gitignore`` (root and nested) and ``.aitkignore`` holds
patterns relative to its own folder; the deepest file with a matching pattern decides, and within
one folder ``.aitkignore`` wins over ``.gitignore`` (its patterns come last). An excluded folder is
not descended into, so nothing inside it can be re-included (as in git). Matching itself is
``pathspec.GitIgnoreSpec`` (negation, anchoring, dir-only patterns, ``**``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from aitk_inference.core.errors import ConfigError

# Never synced, whatever the ignore files say: VCS data, environments, caches.
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__"})
IGNORE_FILE_NAMES = (".gitignore", ".aitkignore")


@dataclass(frozen=True)
class LocalFile:
    """A file to sync. ``path`` is its POSIX path relative to the project (= path on the share)."""

    path: str
    abs_path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class _Level:
    prefix: str  # folder of the ignore file, relative to the project, "" or ending in "/"
    spec: GitIgnoreSpec


def _read_rules(folder: Path, prefix: str) -> _Level | None:
    lines: list[str] = []
    for name in IGNORE_FILE_NAMES:
        file = folder / name
        if not file.is_file():
            continue
        try:
            lines.extend(file.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError as err:
            raise ConfigError(
                f"Cannot read {file}: {err.strerror}.", hint="Fix its permissions or remove it."
            ) from err
    if not lines:
        return None
    try:
        spec = GitIgnoreSpec.from_lines(lines)
    except ValueError as err:  # pathspec rejects a few malformed patterns
        raise ConfigError(
            f"Invalid pattern in an ignore file in {folder}: {err}.",
            hint="Fix the pattern in .gitignore/.aitkignore.",
        ) from err
    return _Level(prefix, spec)


def _ignored(levels: list[_Level], rel: str, is_dir: bool) -> bool:
    for level in reversed(levels):  # deepest ignore file first
        sub = rel[len(level.prefix) :] + ("/" if is_dir else "")
        decision = level.spec.check_file(sub).include
        if decision is not None:
            return decision
    return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:  # a link loop: reported (and skipped) with the files
        return False


def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def walk_project(
    root: Path,
    *,
    exclude: Callable[[str], bool] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[LocalFile]:
    """Every file to sync under ``root``, sorted by path.

    ``exclude(path)`` drops further paths (e.g. names the sync reserves for itself). Symlinks
    are followed (a model folder is often a link into a cache), but each real folder is walked
    once so link loops end; broken links and link loops are skipped with a warning naming them.
    Files that cannot be read stop the walk with their names: the app would miss them.
    """
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"Project folder {root} does not exist or is not a folder.")
    files: list[LocalFile] = []
    unreadable: list[str] = []
    seen_dirs: set[str] = set()
    for rel_dir, folder, levels in _walk_dirs(root, "", [], seen_dirs, warn):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            raise ConfigError(f"Cannot list {folder}: {err.strerror}.") from err
        for entry in entries:
            rel = rel_dir + entry.name
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as err:
                if _ignored(levels, rel, False) or (exclude and exclude(rel)):
                    continue
                if err.errno not in (errno.ENOENT, errno.ELOOP):
                    unreadable.append(f"{rel} ({err.strerror})")
                elif warn:
                    warn(f"Skipping {rel}: {_why_missing(entry, err)}.")
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if _ignored(levels, rel, False) or (exclude and exclude(rel)):
                continue
            if not os.access(entry.path, os.R_OK):
                unreadable.append(f"{rel} (permission denied)")
                continue
            files.append(LocalFile(rel, Path(entry.path), st.st_size, st.st_mtime_ns))
    if unreadable:
        shown = ", ".join(unreadable[:10]) + (
            f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else ""
        )
        raise ConfigError(
            f"Cannot read {'this file' if len(unreadable) == 1 else 'these files'} of the project: {shown}. "
            "Nothing was uploaded.",
            hint="Fix their permissions, or list them in .aitkignore to leave them out of the deployment.",
        )
    files.sort(key=lambda f: f.path)
    return files


def _why_missing(entry: os.DirEntry[str], err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "it is part of a symbolic link loop"
    if entry.is_symlink():
        return "it is a broken link"
    return "it was deleted while the project was scanned"


def _walk_dirs(
    root: Path,
    rel_dir: str,
    parent_levels: list[_Level],
    seen: set[str],
    warn: Callable[[str], None] | None,
) -> Iterator[tuple[str, Path, list[_Level]]]:
    folder = root / rel_dir if rel_dir else root
    real = os.path.realpath(folder)
    if real in seen:
        if warn:
            warn(f"Skipping {rel_dir or '.'}: a link to a folder already synced.")
        return
    seen.add(real)
    level = _read_rules(folder, rel_dir)
    levels = [*parent_levels, level] if level else parent_levels
    yield rel_dir, folder, levels
    try:
        subdirs = sorted(e.name for e in os.scandir(folder) if _is_dir(e))
    except OSError as err:
        raise ConfigError(f"Cannot list {folder}: {err.strerror}.") from err
    for name in subdirs:
        rel = rel_dir + name
        if name in ALWAYS_SKIPPED_DIRS or _is_venv(folder / name) or _ignored(levels, rel, True):
            continue
        yield from _walk_dirs(root, rel + "/", levels, seen, warn)
