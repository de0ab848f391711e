"""Provision: the template and its parameters, GPU capacity checks, choosing the subscription and
resource group, and running the ARM deployment that writes ``infra/inference.config.json``."""
