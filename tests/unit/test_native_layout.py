"""The constants C and Python share come from one place (bot/native/layout.py, issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.doctor import native_state
from bot.evidence.errorlog import LEVELS, MAX_LINE_CHARS
from bot.evidence.reading import MAX_LINE_BYTES
from bot.native import fastscan, layout

ROOT = Path(__file__).resolve().parents[2]


def test_the_layout_reads_the_python_values() -> None:
    values = layout.shared()
    assert values["MAX_LINE_BYTES"] == MAX_LINE_BYTES
    assert values["MAX_LINE_CHARS"] == MAX_LINE_CHARS
    assert tuple(values["LEVELS"]) == LEVELS  # type: ignore[arg-type]


def test_the_header_carries_them(tmp_path: Path) -> None:
    out = tmp_path / "_fastscan_layout.h"
    subprocess.run([sys.executable, str(ROOT / "bot" / "native" / "layout.py"), str(out)], check=True, timeout=60)
    header = out.read_text()
    assert f"#define NT_MAX_LINE_BYTES {MAX_LINE_BYTES}\n" in header
    assert f"#define NT_MAX_LINE_CHARS {MAX_LINE_CHARS}\n" in header
    assert '#define NT_CTX_KEYS {"client: ", "server: ", "upstream: ", "host: "}' in header
    assert "#define NT_CTX_LENS {8, 8, 10, 6}" in header


@pytest.mark.skipif(fastscan is None, reason="the C extension is not built here")
def test_the_built_module_was_compiled_with_the_python_values() -> None:
    assert fastscan is not None
    assert fastscan.LAYOUT_VERSION == layout.LAYOUT_VERSION
    assert fastscan.MAX_LINE_BYTES == MAX_LINE_BYTES
    assert fastscan.MAX_LINE_CHARS == MAX_LINE_CHARS
    assert fastscan.LEVELS == LEVELS
    assert tuple(f"{k}: " for k in layout.CTX_KINDS) == fastscan.CTX_KEYS


def test_doctor_says_when_the_accelerator_is_off_and_how_to_get_it(tmp_path: Path) -> None:
    cli = str(Path(sys.executable).parent / "nginx-triage")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NGINX_TRIAGE_NO_NATIVE": "1"}
    off = subprocess.run([cli, "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert off.returncode == 1
    assert "C accelerator: turned off by NGINX_TRIAGE_NO_NATIVE" in off.stdout
    assert "KB cache:" in off.stdout and "Traceback" not in off.stderr
    env.pop("NGINX_TRIAGE_NO_NATIVE")
    on = subprocess.run([cli, "doctor", "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
    state, _ = native_state()
    assert ('"state": "ok"' in on.stdout) == (state == "ok")
    assert '"state": "current"' in on.stdout  # the KB cache was built by this run


def test_a_big_log_without_the_accelerator_says_so_once_on_stderr(tmp_path: Path) -> None:
    from bench.gen_errorlog import generate

    log = tmp_path / "big.log"
    generate(log, 170_000)  # > 32 MB: the streamed path
    assert log.stat().st_size > 32 << 20
    cli = str(Path(sys.executable).parent / "nginx-triage")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NGINX_TRIAGE_NO_NATIVE": "1"}
    proc = subprocess.run(
        [cli, "diagnose", "--format", "json", str(log)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("nginx-triage: reading") == 1
    assert "NGINX_TRIAGE_NO_NATIVE is set" in proc.stderr
