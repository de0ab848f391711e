"""A local Azure emulator speaking ARM, Container Apps and Azure Files wire protocols over HTTPS.

See README.md in this folder for what it covers and how its fidelity is checked.
"""

from tests.azure_emulator.server import Emulator, EmulatorThread

__all__ = ["Emulator", "EmulatorThread"]
