"""Tests of ``aitk_inference.core.sync``."""
