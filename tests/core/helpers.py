"""Test helpers for the core: a project copied from the shipped template, a scripted prompter."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aitk_inference.core.reporting import Choice

REPO = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "3f2c7a1e-5b8d-4e0f-9a6c-1d2e3f4a5b6c"


def make_template_project(dest: Path) -> Path:
    """A user project as the template ships it: infra/ (and inference/ when present)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "infra", dest / "infra")
    if (REPO / "inference").is_dir():
        shutil.copytree(
            REPO / "inference", dest / "inference", ignore=shutil.ignore_patterns("__pycache__", ".venv")
        )
    return dest


@dataclass
class ScriptedPrompter:
    """Answers questions from a script, in order, and records what was asked.

    ``answers`` items: a value to return, or a callable taking the offered choices."""

    answers: list[str | None] = field(default_factory=list)
    asked: list[tuple[str, list[Choice]]] = field(default_factory=list)
    confirmations: list[str] = field(default_factory=list)
    confirm_answer: bool = True

    def _next(self, title: str) -> str | None:
        if not self.answers:
            raise AssertionError(f"unexpected question: {title}")
        return self.answers.pop(0)

    async def pick(
        self,
        title: str,
        items: Sequence[Choice],
        *,
        placeholder: str | None = None,
        create_new_label: str | None = None,
    ) -> str | None:
        self.asked.append((title, list(items)))
        return self._next(title)

    async def input(
        self, title: str, *, placeholder: str | None = None, value: str | None = None
    ) -> str | None:
        self.asked.append((title, []))
        return self._next(title)

    async def confirm(self, message: str) -> bool:
        self.confirmations.append(message)
        return self.confirm_answer
