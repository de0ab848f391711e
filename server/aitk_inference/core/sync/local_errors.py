"""What a person reads when a project file cannot be read during a deploy: one line naming it.

A file that vanished mid-deploy is skipped (the share keeps what it had, and the next deploy
treats it as deleted); one that cannot be read, or is a link loop, stops the deploy with its name,
since uploading the rest would leave the app with a file missing.
"""

from __future__ import annotations

import errno

from aitk_inference.core.errors import AitkError

IGNORE_HINT = "Fix it, or list it in .aitkignore to leave it out of the deployment."


class LocalFileVanished(AitkError):
    """The file was deleted (or renamed away) after the project was scanned."""

    def __init__(self, path: str) -> None:
        super().__init__(f"Skipping {path}: it was deleted during the deploy.")
        self.path = path


def local_read_error(path: str, err: OSError) -> AitkError:
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return LocalFileVanished(path)
    if err.errno == errno.ELOOP:
        return AitkError(f"Cannot read {path}: it is part of a symbolic link loop.", hint=IGNORE_HINT)
    return AitkError(f"Cannot read {path}: {err.strerror or err}.", hint=IGNORE_HINT)
