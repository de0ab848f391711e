"""Talking to Azure: clouds, SDK client factories, the pooled HTTPS transport, TLS trust, and
turning Azure's errors into plain words."""
