"""Whole-process fuzzing of the installed ``nginx-triage``: no run may end in an internal error.

Runs ``FUZZ_CLI_RUNS`` (default 2,000) commands - ``diagnose`` (text, json, markdown),
``match`` (jsonl, text), ``ask`` and ``chat`` - on fuzz inputs from the same generator as
the in-process job, ``FUZZ_JOBS`` at a time (default 2). A run passes when it exits 0 or 1
(input refused with a one-line reason), prints no traceback and ends within
``FUZZ_CLI_TIMEOUT`` seconds; exit 3 (internal error), any other code, a traceback or a
timeout fails the job. ``FUZZ_CLI_SECONDS``, when set, stops starting runs after that long,
and ``FUZZ_MIN_CLI_RUNS`` fails a job the bound cut short of that many runs.
Failing inputs are kept in ``bench/out/fuzz/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fuzz.engine import OUT, SEED, input_for
from tests.fuzz.seeds import ROOT

CLI = Path(os.environ.get("NGINX_TRIAGE_CLI", str(ROOT / ".venv" / "bin" / "nginx-triage")))
TIMEOUT = float(os.environ.get("FUZZ_CLI_TIMEOUT", "60"))
COMMANDS = [
    ["diagnose", "--format", "text"],
    ["diagnose", "--format", "json"],
    ["diagnose", "--format", "markdown"],
    ["match", "--format", "jsonl"],
    ["match", "--format", "text"],
    ["ask"],
    ["chat"],
]
OFFSET = 10_000_000
"""Index offset: the CLI job's inputs differ from the in-process job's."""


def run(index: int, workdir: Path) -> tuple[int, str, int | str, float]:
    """One command on input ``index``: (index, command, exit code or failure word, seconds)."""
    text = input_for(OFFSET + index)
    command = COMMANDS[index % len(COMMANDS)]
    env = {**os.environ, "NGINX_TRIAGE_DEBUG": "", "COLUMNS": "100"}
    env.pop("NGINX_TRIAGE_DEBUG")
    if command == ["ask"]:
        args, stdin = [*command, "--", text[:2000].replace("\x00", "") or "?"], b""  # "--": text may start with -
    elif command == ["chat"]:
        args, stdin = command, (text + "\nquit\n").encode("utf-8", "replace")
    else:
        path = workdir / f"in-{index}.txt"
        path.write_bytes(text.encode("utf-8", "replace"))
        args, stdin = [*command, str(path)], b""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(CLI), *args], input=stdin, capture_output=True, timeout=TIMEOUT, cwd=workdir, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return index, " ".join(command), "timeout", time.monotonic() - start
    except ValueError:  # an argument with a NUL byte cannot reach exec
        return index, " ".join(command), 0, 0.0
    seconds = time.monotonic() - start
    err = proc.stderr.decode("utf-8", "replace")
    if "Traceback" in err:
        return index, " ".join(command), "traceback", seconds
    return index, " ".join(command), proc.returncode, seconds


def main() -> int:
    runs = int(os.environ.get("FUZZ_CLI_RUNS", "2000"))
    jobs = int(os.environ.get("FUZZ_JOBS", "2"))
    budget = float(os.environ.get("FUZZ_CLI_SECONDS", "0")) or None
    required = int(os.environ.get("FUZZ_MIN_CLI_RUNS", "0"))
    OUT.mkdir(parents=True, exist_ok=True)
    codes: Counter[str] = Counter()
    failures: list[tuple[int, str, int | str]] = []
    slowest = 0.0
    started = time.monotonic()
    done = 0

    def bounded(i: int, tmp: str) -> tuple[int, str, int | str, float] | None:
        if budget is not None and time.monotonic() - started > budget:
            return None  # out of time: the summary counts what ran
        return run(i, Path(tmp))

    with tempfile.TemporaryDirectory(prefix="nginx-triage-fuzz-") as tmp, ThreadPoolExecutor(jobs) as pool:
        for result in pool.map(lambda i: bounded(i, tmp), range(runs)):
            if result is None:
                continue
            index, command, code, seconds = result
            done += 1
            codes[f"{command} -> {code}"] += 1
            slowest = max(slowest, seconds)
            if code not in (0, 1):
                failures.append((index, command, code))
                (OUT / f"cli-{index}.txt").write_text(input_for(OFFSET + index), encoding="utf-8", errors="replace")
    print(
        f"fuzz cli: {done} of {runs} runs in {time.monotonic() - started:.0f}s ({jobs} at a time, seed {SEED}): "
        f"{len(failures)} failed (internal error, traceback, timeout or odd exit), slowest {slowest:.1f}s"
    )
    for key, n in sorted(codes.items()):
        print(f"  {n:6d}  {key}")
    for index, command, code in failures[:20]:
        print(f"--- run {index}: nginx-triage {command} -> {code} (input bench/out/fuzz/cli-{index}.txt)")
    if done < required:
        print(f"FAIL: {done} runs before the time bound, fewer than FUZZ_MIN_CLI_RUNS={required}")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
