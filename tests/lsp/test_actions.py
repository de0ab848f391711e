"""Which buttons an error offers, for errors that are slow to provoke through Azure (TLS, network):
the walk through the real server covers the rest (test_flows, test_feedback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aitk_inference.core.errors import AitkError, AzureOperationError
from aitk_inference.lsp.actions import actions_for

from tests.core.helpers import make_template_project


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("TlsUntrusted", ["Open Settings", "Show Output"]),
        ("ConnectionFailed", ["Open Settings", "Show Output"]),
        ("NotSignedIn", ["Sign in", "Show Output"]),
        ("WrongSubscription", ["Open inference.config.json", "Show Output"]),
        ("NotFoundInAzure", ["Open inference.config.json", "Provision", "Show Output"]),
        ("ReadinessTimeout", ["Stream logs", "Show Output"]),
    ],
)
def test_actions_fit_the_error(tmp_path: Path, code: str, expected: list[str]) -> None:
    project = make_template_project(tmp_path / "project")
    assert actions_for(AzureOperationError("x", code=code), project) == expected


def test_a_folder_without_infra_offers_the_project_files(tmp_path: Path) -> None:
    assert actions_for(AitkError("x"), tmp_path) == ["Create inference project files", "Show Output"]
