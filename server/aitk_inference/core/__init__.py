"""The engine: no LSP, no CLI, no VS Code imports allowed in this package."""
