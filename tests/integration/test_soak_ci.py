"""The soak benchmark's CI mode (``bench/soak_serve.py --ci``): 1,500 distinct pastes through
``serve``, 500 of them warm-up; the resident memory of its process tree may grow less than
15 MB over the last 1,000 (before the fix it grew about 20 KB a turn: 20 MB here). The full
20,000-paste soak runs in ``make bench``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow]


def test_memory_stays_flat_over_1500_distinct_pastes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak_serve.py"), "--ci"],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
    )
    summary = [line for line in proc.stdout.splitlines() if line.startswith("soak:")]
    assert proc.returncode == 0 and summary, proc.stdout[-3000:] + proc.stderr[-3000:]
    replies = re.search(r"\((\d+) replies\)", summary[0])
    assert replies and int(replies.group(1)) >= 1500, summary[0]  # every paste answered
