"""Start-up stays light: the server's import path loads no Azure SDK (they load with the first
command), so the extension's server answers ``initialize`` quickly."""

from __future__ import annotations

import json
import subprocess
import sys


def test_serve_imports_no_azure_sdk() -> None:
    code = (
        "import json, sys\n"
        "import aitk_inference.cli, aitk_inference.lsp.server as s\n"
        "s.create_server()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'aiohttp'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == []
    # and the check itself can fail: the core's Azure-facing modules do pull them in
    code_heavy = code.replace("s.create_server()", "import aitk_inference.core.deploy.deploy")
    out = subprocess.run(
        [sys.executable, "-c", code_heavy], check=True, capture_output=True, text=True
    ).stdout
    assert "azure.core" in json.loads(out)
