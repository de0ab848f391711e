"""Fills ``bundled/libs`` with the server's Python dependencies for one VS Code target platform.

The extension puts these folders on ``sys.path`` in front of everything else, so first start needs
only an interpreter: no venv, no pip, no network. Layout:

    bundled/libs/common/   wheels identical for every supported CPython (pure Python, abi3)
    bundled/libs/cp311/    wheels built for one CPython minor (aiohttp, yarl, multidict, ...)
    bundled/libs/cp312/
    bundled/libs/cp313/
    bundled/libs/manifest.json   {target, pythons, fingerprint}

Wheels come from the package index (``pip download --only-binary=:all: --platform ...``): any
target can be built on any machine. Installs are cached under ``build/pylibs/<target>/`` and
rebuilt only when the dependencies in pyproject.toml change.

    python scripts/bundle_python_libs.py linux-x64 [--out bundled/libs]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.12", "3.13")

# pip expands only legacy manylinux names and macOS versions downwards, so the glibc steps are
# listed. glibc 2.28 is the floor of VS Code's own remote server.
_MANYLINUX = ("2_28", "2_27", "2_26", "2_24", "2_17", "2_12", "2_5")
PLATFORMS: dict[str, list[str]] = {
    "linux-x64": [f"manylinux_{v}_x86_64" for v in _MANYLINUX] + ["manylinux2014_x86_64"],
    "linux-arm64": [f"manylinux_{v}_aarch64" for v in _MANYLINUX] + ["manylinux2014_aarch64"],
    "win32-x64": ["win_amd64"],
    "darwin-x64": ["macosx_11_0_x86_64"],
    "darwin-arm64": ["macosx_11_0_arm64"],
}


def requirements() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        deps: list[str] = tomllib.load(f)["project"]["dependencies"]
    return deps


def fingerprint(target: str, deps: list[str]) -> str:
    text = json.dumps({"target": target, "pythons": PYTHONS, "deps": deps}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tag(python: str) -> str:
    return "cp" + python.replace(".", "")


def platform_args(target: str, python: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    args += ["--abi", tag(python)]
    for platform in PLATFORMS[target]:
        args += ["--platform", platform]
    return args


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def install(target: str, python: str, wheels: list[Path], dest: Path) -> None:
    if not wheels:
        return
    pip("install", "-q", "--no-deps", "--no-index", "--no-compile", "--target", str(dest),
        *platform_args(target, python), *map(str, wheels))  # fmt: skip
    # Console scripts (bin/) are of no use on sys.path, and point at the build machine's python.
    shutil.rmtree(dest / "bin", ignore_errors=True)


def split(wheelhouse: dict[str, list[Path]]) -> tuple[list[Path], dict[str, list[Path]]]:
    """A wheel every Python version resolved to (the same file name: pure Python or abi3) goes
    in common/ once; the rest (built for one CPython minor) in that version's folder."""
    shared = set.intersection(*({w.name for w in wheels} for wheels in wheelhouse.values()))
    first = next(iter(wheelhouse.values()))
    common = [w for w in first if w.name in shared]
    own = {python: [w for w in wheels if w.name not in shared] for python, wheels in wheelhouse.items()}
    return common, own


def build(target: str, cache: Path) -> Path:
    deps = requirements()
    stamp = fingerprint(target, deps)
    libs = cache / "libs"
    manifest = libs / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text())["fingerprint"] == stamp:
        return libs
    wheelhouse: dict[str, list[Path]] = {}
    for python in PYTHONS:
        dest = cache / "wheels" / tag(python)
        shutil.rmtree(dest, ignore_errors=True)
        print(f"bundle: downloading wheels for {target}, CPython {python}", flush=True)
        pip("download", "-q", "--dest", str(dest), *platform_args(target, python), *deps)
        wheelhouse[python] = sorted(dest.glob("*.whl"))
    shutil.rmtree(libs, ignore_errors=True)
    common, own = split(wheelhouse)
    install(target, PYTHONS[0], common, libs / "common")
    for python, wheels in own.items():
        install(target, python, wheels, libs / tag(python))
    manifest.write_text(
        json.dumps({"target": target, "pythons": list(PYTHONS), "fingerprint": stamp}, indent=2) + "\n"
    )
    return libs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=sorted(PLATFORMS))
    parser.add_argument("--out", type=Path, default=ROOT / "bundled" / "libs")
    args = parser.parse_args()
    libs = build(args.target, ROOT / "build" / "pylibs" / args.target)
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(libs, args.out)
    print(f"bundle: {args.out} holds the server's dependencies for {args.target}", flush=True)


if __name__ == "__main__":
    main()
