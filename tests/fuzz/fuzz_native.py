"""Fuzz the C scanner (``bot/native/_fastscan.c``) built with AddressSanitizer and UBSan.

``make fuzz-native`` compiles the module with ``-fsanitize=address,undefined`` into
``build/fuzz-native`` and runs this driver under the sanitizer runtime: any out-of-bounds
access, use after free or undefined behaviour aborts the process with a report, so a clean
exit is the finding-free verdict. The driver feeds at least ``--lines`` lines (default
100,000): real lines from the corpora mutated (bytes flipped, cut, duplicated, spliced, the
prefix, context keys and separators damaged), random bytes, overlong and empty lines, in
chunks of random size (partial lines across ``feed`` calls), with small scanner limits so
the full/flush paths run too, and exercises ``run``/``export``/``finish`` as Python does.
Bounded in time by ``--seconds``; deterministic for a ``--seed``.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

SPICE = [
    b", client: ", b", server: ", b", upstream: ", b", host: ", b", request: ", b'"', b"\\", b"\x00", b"\r",
    b"\t", b" | ", b"#", b"*", b"[", b"]", b"\xff", b"\xc3", b"\xe2\x80", b"2026/11/01 00:00:01 [error] 1#1: ",
]  # fmt: skip


def load_module(directory: Path) -> ModuleType:
    """The sanitized ``_fastscan`` from ``directory`` (not the installed one)."""
    found = sorted(directory.glob("_fastscan*.so"))
    if not found:
        raise SystemExit(f"no _fastscan*.so in {directory}: run `make fuzz-native`")
    spec = importlib.util.spec_from_file_location("_fastscan", found[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_lines() -> list[bytes]:
    """Real lines: the corpora's ``line:`` values, the examples and the test logs."""
    out: list[bytes] = []
    sources = [*ROOT.glob("tests/data/*.yaml"), *Path("/work/shared/corpus").glob("*.yaml")]
    for path in sources:
        for raw in path.read_bytes().splitlines():
            s = raw.strip()
            if s.startswith((b"- line: ", b"line: ")):
                out.append(s.split(b"line: ", 1)[1].strip(b"'\""))
    for log in ROOT.glob("examples/*/error.log"):
        out += log.read_bytes().splitlines()
    return [s for s in out if s] or [b"2026/11/01 00:00:01 [error] 1#1: *1 connect() failed, client: 1.2.3.4"]


def mutate(rnd: random.Random, line: bytes, seeds: list[bytes]) -> bytes:
    """One damaged variant of ``line``."""
    b = bytearray(line)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(9)
        pos = rnd.randint(0, len(b))
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rnd.randrange(256)
        elif op == 1:
            del b[pos : pos + rnd.randint(1, 12)]
        elif op == 2:
            b[pos:pos] = rnd.choice(SPICE)
        elif op == 3:
            other = rnd.choice(seeds)
            b[pos:] = other[rnd.randint(0, len(other)) :]
        elif op == 4:
            b = b[:pos]
        elif op == 5:
            b[pos:pos] = b[pos : pos + rnd.randint(1, 40)] * rnd.randint(1, 20)
        elif op == 6:
            b[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif op == 7 and len(b) > 20:
            b[rnd.randint(0, 20)] = rnd.choice(b"0123456789 /:[]#*")
        else:
            b[pos:pos] = b"x" * rnd.choice([100, 8191, 8192, 8193, 16383, 16384, 16385, 40000])
    return bytes(b)


def random_line(rnd: random.Random) -> bytes:
    n = rnd.choice([0, 1, 5, 30, 80, 200, 9000, 17000])
    return bytes(rnd.randrange(256) for _ in range(n)) if n < 1000 else rnd.randbytes(n)


def drive(mod: ModuleType, data: bytes, rnd: random.Random) -> None:
    """Feed ``data`` as Python does: random chunks, drain when full, export, finish."""
    limits = rnd.choice([{}, {"max_heads": 2, "max_distinct": 1, "max_samples": 1, "max_fallback": 1}])
    sc = mod.Scanner(**limits)
    i = 0
    while i < len(data):
        n = rnd.choice([1, 7, 64, 4096, 1 << 20])
        sc.feed(data[i : i + n])
        i += n
        if sc.full or rnd.random() < 0.1:
            sc.run()
            sc.export()
    sc.finish()
    sc.run()
    heads, _other = sc.export()
    assert isinstance(heads, list)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--module-dir", type=Path, default=ROOT / "build" / "fuzz-native")
    ap.add_argument("--lines", type=int, default=100_000, help="at least this many lines")
    ap.add_argument("--seconds", type=float, default=120.0, help="stop after this long (after the minimum)")
    ap.add_argument("--seed", type=int, default=11)
    opts = ap.parse_args()
    mod = load_module(opts.module_dir)
    rnd = random.Random(opts.seed)
    seeds = seed_lines()
    start = time.monotonic()
    fed = batches = 0
    while fed < opts.lines and time.monotonic() - start < opts.seconds:
        batch = [
            rnd.choice(seeds) if r < 0.2 else mutate(rnd, rnd.choice(seeds), seeds) if r < 0.9 else random_line(rnd)
            for r in (rnd.random() for _ in range(rnd.randint(1, 400)))
        ]
        sep = rnd.choice([b"\n", b"\n", b"\r\n", b"\n\n"])
        drive(mod, sep.join(batch) + rnd.choice([b"", b"\n"]), rnd)
        fed += len(batch)
        batches += 1
    took = time.monotonic() - start
    print(f"fuzz-native: {fed} lines in {batches} scanner runs, {took:.1f} s, no sanitizer finding (seed {opts.seed})")
    if fed < opts.lines:
        print(f"fuzz-native: only {fed} of {opts.lines} lines within {opts.seconds} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
