"""Tests of ``aitk_inference.core.deploy``."""
