"""Hatchling build hook: compile the optional C extension ``bot/native/_fastscan.c``.

Uses the target interpreter's own compiler settings (``sysconfig``: LDSHARED, CCSHARED,
the include directory, EXT_SUFFIX); no setuptools needed. A wheel that carries the module
is tagged for this platform and Python. When there is no compiler or no Python headers,
or ``NGINX_TRIAGE_NO_NATIVE_BUILD=1``, the build still succeeds without it (a pure wheel)
and ``bot.native`` falls back to the pure-Python path.

Editable installs (``pip install -e .``) compile the module next to its source, where the
editable ``.pth`` finds it; regular wheels compile it in a temporary directory and
force-include it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("bot") / "native" / "_fastscan.c"
MODULE = "_fastscan"
LAYOUT = Path("bot") / "native" / "layout.py"
"""Writes ``_fastscan_layout.h``: the constants C shares with Python, from the Python side."""


def compile_extension(root: Path, out_dir: Path) -> Path | None:
    """Compile the extension into ``out_dir``; None (with a warning) when that is not possible."""
    if os.environ.get("NGINX_TRIAGE_NO_NATIVE_BUILD"):
        return None
    src = root / SOURCE
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    out = out_dir / f"{MODULE}{suffix}"
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").is_file():
        print(f"nginx-triage: no Python.h in {include}; building without the C accelerator", file=sys.stderr)
        return None
    layout_dir = Path(tempfile.mkdtemp(prefix="nginx-triage-layout-"))
    try:  # the shared constants, from the Python side (bot/native/layout.py)
        subprocess.run(
            [sys.executable, str(root / LAYOUT), str(layout_dir / "_fastscan_layout.h")],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(
            f"nginx-triage: cannot generate the C layout header ({exc}); building without the C accelerator",
            file=sys.stderr,
        )
        return None
    cc = os.environ.get("CC")
    ldshared = sysconfig.get_config_var("LDSHARED") or "cc -shared"
    cmd = shlex.split(ldshared)
    if cc:  # honour CC like distutils does: replace the compiler, keep the link flags
        cmd = [*shlex.split(cc), *cmd[1:]]
    cmd += shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC")
    cmd += ["-O2", "-std=c99", "-fno-strict-aliasing", "-I", include, "-I", str(layout_dir), str(src), "-o", str(out)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"nginx-triage: cannot run the C compiler ({exc}); building without the C accelerator", file=sys.stderr)
        return None
    shutil.rmtree(layout_dir, ignore_errors=True)
    if proc.returncode != 0 or not out.is_file():
        print(
            f"nginx-triage: compiling {SOURCE} failed; building without the C accelerator\n"
            f"{' '.join(cmd)}\n{proc.stderr[-2000:]}",
            file=sys.stderr,
        )
        return None
    return out


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if version == "editable":
            compile_extension(root, root / SOURCE.parent)
            return  # the editable .pth puts the source tree (and the module) on sys.path
        self._tmp = tempfile.TemporaryDirectory(prefix="nginx-triage-native-")
        built = compile_extension(root, Path(self._tmp.name))
        if built is None:
            return
        build_data["force_include"][str(built)] = str(SOURCE.parent / built.name)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
