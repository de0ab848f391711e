"""The VSIX's Python libraries: which wheels go to common/ and which to a CPython folder, and the
pip platform arguments per VS Code target (building the real bundle needs the package index: the
end-to-end test installs and runs the linux-x64 VSIX)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bundle_python_libs.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_python_libs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bundle = load()


def wheels(*names: str) -> list[Path]:
    return [Path("/wh") / name for name in names]


def test_pure_and_abi3_wheels_go_to_common_once_native_ones_to_their_python() -> None:
    pure = "pygls-2.1.1-py3-none-any.whl"
    abi3 = "cryptography-50.0.2-cp311-abi3-manylinux_2_28_x86_64.whl"
    house = {
        "3.11": wheels(pure, abi3, "aiohttp-3.14.5-cp311-cp311-manylinux_2_17_x86_64.whl"),
        "3.12": wheels(pure, abi3, "aiohttp-3.14.5-cp312-cp312-manylinux_2_17_x86_64.whl"),
        "3.13": wheels(pure, abi3, "aiohttp-3.14.5-cp313-cp313-manylinux_2_17_x86_64.whl"),
    }
    common, own = bundle.split(house)
    assert [w.name for w in common] == [pure, abi3]
    assert {python: [w.name for w in ws] for python, ws in own.items()} == {
        "3.11": ["aiohttp-3.14.5-cp311-cp311-manylinux_2_17_x86_64.whl"],
        "3.12": ["aiohttp-3.14.5-cp312-cp312-manylinux_2_17_x86_64.whl"],
        "3.13": ["aiohttp-3.14.5-cp313-cp313-manylinux_2_17_x86_64.whl"],
    }


def test_a_pure_wheel_one_python_resolved_differently_stays_with_that_python() -> None:
    house = {
        "3.11": wheels("typing_extensions-4.16.0-py3-none-any.whl"),
        "3.12": wheels("typing_extensions-4.16.0-py3-none-any.whl"),
        "3.13": wheels("typing_extensions-4.17.0-py3-none-any.whl"),
    }
    common, own = bundle.split(house)
    assert common == []
    assert [w.name for w in own["3.13"]] == ["typing_extensions-4.17.0-py3-none-any.whl"]


def test_pip_arguments_name_the_target_platforms_and_the_python() -> None:
    args = bundle.platform_args("linux-x64", "3.12")
    assert args[:7] == [
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        "3.12",
        "--abi",
        "cp312",
    ]
    platforms = [args[i + 1] for i, a in enumerate(args) if a == "--platform"]
    assert platforms[0] == "manylinux_2_28_x86_64" and "manylinux2014_x86_64" in platforms
    assert set(bundle.PLATFORMS) == {"linux-x64", "linux-arm64", "win32-x64", "darwin-x64", "darwin-arm64"}
    assert bundle.platform_args("win32-x64", "3.11")[-2:] == ["--platform", "win_amd64"]
