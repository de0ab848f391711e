"""``python -m aitk_inference`` runs the CLI (``serve`` starts the LSP server)."""

from aitk_inference.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
