"""Tests of ``aitk_inference.core.azure``."""
