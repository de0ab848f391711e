"""The pygls language server: a thin layer turning core calls into LSP traffic."""
