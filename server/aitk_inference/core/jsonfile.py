"""Reading and writing the project's JSON files: clear parse errors, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from aitk_inference.core.errors import ConfigError


def read_json(path: Path, *, what: str) -> Any:
    """Parse ``path``; a missing or malformed file is a :class:`ConfigError` naming file, line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}.", hint="Create it from the project template.") from None
    except OSError as err:
        raise ConfigError(f"Cannot read {what} {path}: {err.strerror}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}.",
            hint="Fix the JSON syntax there and try again.",
        ) from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file beside ``path`` then rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=4)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
