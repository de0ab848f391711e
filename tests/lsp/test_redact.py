"""The output-panel filter masks what looks like a secret and leaves ordinary text alone."""

from __future__ import annotations

from aitk_inference.lsp.redact import redact


def test_secrets_are_masked() -> None:
    text = (
        "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=abc123==;EndpointSuffix=core "
        "https://st1.file.core.windows.net/share/f?sv=2024&sig=Zm9vYmFy%3D&se=1 "
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    )
    masked = redact(text)
    for secret in ("abc123==", "Zm9vYmFy%3D", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in masked
    assert "AccountName=st1" in masked and "AccountKey=***" in masked and "sig=***" in masked


def test_plain_lines_are_untouched() -> None:
    line = (
        "Deployment aitk-inference-1 started. Follow it in the Azure portal: https://portal.azure.com/#blade"
    )
    assert redact(line) == line
