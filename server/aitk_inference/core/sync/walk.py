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
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from stat import S_IROTH, S_ISREG
from typing import NamedTuple

from pathspec import GitIgnoreSpec

from aitk_inference.core.errors import ConfigError, first_few

# Never synced, whatever the ignore files say: VCS data, environments, caches.
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__"})
IGNORE_FILE_NAMES = (".gitignore", ".aitkignore")
_SPECIAL_NAMES = frozenset({*IGNORE_FILE_NAMES, "pyvenv.cfg"})


class LocalFile(NamedTuple):
    """A file to sync. ``path`` is its POSIX path relative to the project (= path on the share).
    A tuple with a plain-string ``abs_path``: tens of thousands are built per walk."""

    path: str
    abs_path: str | Path
    size: int
    mtime_ns: int


# The tuple constructor itself: a NamedTuple's own __new__ is a Python function (one per file).
_new_file = tuple.__new__


@dataclass(frozen=True)
class _Level:
    prefix: str  # folder of the ignore file, relative to the project, "" or ending in "/"
    spec: GitIgnoreSpec
    # All of the spec's patterns in one regex: most paths match none, and then one search
    # replaces one per pattern (the spec is consulted only on a hit, for git's last-match rule).
    any_match: re.Pattern[str] | None


def _read_rules(folder: Path, prefix: str, names: set[str]) -> _Level | None:
    if names.isdisjoint(IGNORE_FILE_NAMES):
        return None
    lines: list[str] = []
    for name in IGNORE_FILE_NAMES:
        file = folder / name
        if name not in names or not file.is_file():
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
    return _Level(prefix, spec, _combined(spec))


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")  # pathspec names groups alike; one regex cannot


def _combined(spec: GitIgnoreSpec) -> re.Pattern[str] | None:
    sources = []
    for pattern in spec.patterns:
        regex = getattr(pattern, "regex", None)
        if pattern.include is None:
            continue
        if not isinstance(regex, re.Pattern) or regex.flags & ~re.UNICODE:
            return None  # unknown shape: always ask the spec
        sources.append("(?:" + _NAMED_GROUP.sub("(?:", regex.pattern) + ")")
    try:
        return re.compile("|".join(sources)) if sources else re.compile(r"(?!)")
    except re.error:
        return None


def _ignored(levels: list[_Level], rel: str, is_dir: bool) -> bool:
    for level in reversed(levels):  # deepest ignore file first
        sub = rel[len(level.prefix) :] + ("/" if is_dir else "")
        if level.any_match is not None and level.any_match.search(sub) is None:
            continue
        decision = level.spec.check_file(sub).include
        if decision is not None:
            return decision
    return False


def walk_project(
    root: Path,
    *,
    exclude: Callable[[str], bool] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[LocalFile]:
    """Every file to sync under ``root``, sorted by path.

    ``exclude(path)`` drops further hidden paths (e.g. names the sync reserves for itself): it is
    asked only about paths with a component starting with a dot, not once per file. Symlinks
    are followed (a model folder is often a link into a cache), but each real folder is walked
    once so link loops end; broken links and link loops are skipped with a warning naming them.
    Files that cannot be read stop the walk with their names: the app would miss them.
    """
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"Project folder {root} does not exist or is not a folder.")
    files: list[LocalFile] = []
    unreadable: list[str] = []
    _walk(str(root), str(root), "", [], set(), files, unreadable, exclude, warn)
    if unreadable:
        shown = first_few(unreadable)
        raise ConfigError(
            f"Cannot read {'this file' if len(unreadable) == 1 else 'these files'} of the project: {shown}. "
            "Nothing was uploaded.",
            hint="Fix their permissions, or list them in .aitkignore to leave them out of the deployment.",
        )
    files.sort()  # by path: paths are unique, so the tuples never compare further
    return files


def _walk(
    folder: str,
    real: str,
    rel_dir: str,
    parent_levels: list[_Level],
    seen: set[str],
    files: list[LocalFile],
    unreadable: list[str],
    exclude: Callable[[str], bool] | None,
    warn: Callable[[str], None] | None,
) -> None:
    """One folder, listed once (files and subfolders from the same scandir), then its subfolders.
    ``real`` is its resolved path (links resolved only where there are links: one lstat per
    path component otherwise)."""
    if real in seen:
        if warn:
            warn(f"Skipping {rel_dir or '.'}: a link to a folder already synced.")
        return
    seen.add(real)
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        raise ConfigError(f"Cannot list {folder}: {err.strerror}.") from err
    special = {e.name for e in entries if e.name in _SPECIAL_NAMES}
    if rel_dir and "pyvenv.cfg" in special and os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
        return  # a virtual environment
    level = _read_rules(Path(folder), rel_dir, special) if special else None
    levels = [*parent_levels, level] if level else parent_levels
    hidden_dir = rel_dir.startswith(".") or "/." in rel_dir  # exclude() sees hidden paths only
    only = levels[0] if len(levels) == 1 and not levels[0].prefix else None  # the root's rules alone
    quick = only.any_match.search if only is not None and only.any_match is not None else None
    subdirs: list[os.DirEntry[str]] = []
    skipped: list[str] = []  # warned in name order (scandir's order is the file system's)
    append = files.append
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:  # a link loop: reported (and skipped) with the files
            is_dir = False
        if is_dir:
            subdirs.append(entry)
            continue
        name = entry.name
        rel = rel_dir + name
        try:
            st = entry.stat()
        except OSError as err:
            if _ignored(levels, rel, False) or (exclude and exclude(rel)):
                continue
            if err.errno not in (errno.ENOENT, errno.ELOOP):
                unreadable.append(f"{rel} ({err.strerror})")
            elif warn:
                skipped.append(f"Skipping {rel}: {_why_missing(entry, err)}.")
            continue
        mode = st.st_mode
        if not S_ISREG(mode):
            continue
        # One root ignore file (the usual case): one search says no for most files.
        ignored = bool(levels) and (quick is None or quick(rel) is not None) and _ignored(levels, rel, False)
        if ignored or (exclude and (hidden_dir or name[0] == ".") and exclude(rel)):
            continue
        # Readable by everyone needs no access() call (one syscall per file otherwise).
        if not mode & S_IROTH and not os.access(entry.path, os.R_OK):
            unreadable.append(f"{rel} (permission denied)")
            continue
        append(_new_file(LocalFile, (rel, entry.path, st.st_size, st.st_mtime_ns)))
    for message in sorted(skipped):
        if warn:
            warn(message)
    for entry in sorted(subdirs, key=lambda e: e.name):
        rel = rel_dir + entry.name
        if entry.name in ALWAYS_SKIPPED_DIRS or _ignored(levels, rel, True):
            continue
        sub_real = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real, entry.name)
        _walk(entry.path, sub_real, rel + "/", levels, seen, files, unreadable, exclude, warn)


def _why_missing(entry: os.DirEntry[str], err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "it is part of a symbolic link loop"
    if entry.is_symlink():
        return "it is a broken link"
    return "it was deleted while the project was scanned"
