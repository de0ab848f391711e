"""Tests of ``aitk_inference.core.provision``."""
