"""Starts the server from the extension's folder: ``python -I server/launch.py serve``.

The platform-specific VSIX carries the server's dependencies in ``bundled/libs`` (``common`` plus
one folder per CPython minor, see scripts/bundle_python_libs.py); they go first on ``sys.path``, so
the interpreter needs nothing installed. ``-I`` keeps PYTHONPATH and user site-packages out.
"""

import os
import sys


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    libs = os.path.join(os.path.dirname(here), "bundled", "libs")
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    sys.path[0:0] = [here, os.path.join(libs, tag), os.path.join(libs, "common")]
    from aitk_inference.cli import main as cli_main

    raise SystemExit(cli_main())


if __name__ == "__main__":
    main()
