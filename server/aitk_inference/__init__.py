"""Remote inference for fine-tuned models on Azure Container Apps.

Layers: ``core`` (config, template, Azure operations, sync, provision, deploy,
status) knows nothing of LSP or VS Code; ``lsp`` (pygls server) and ``cli`` are
thin layers over it.
"""

__version__ = "0.1.0"
