"""Proof that the emulator speaks Azure's protocol: spec validation of traffic and recording comparison."""
