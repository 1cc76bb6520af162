"""In-process fuzzing of the engine: ``match``, ``diagnose`` and the conversation engine.

Each input (a mutated real line, dump, limits table or ps output, or random text) goes
through all three; no exception may escape and no input may take over ``FUZZ_MAX_SECONDS``
of CPU (default 2).
The inputs are a pure function of (seed, index), so a failure is replayed with
``python -m tests.fuzz.engine --replay INDEX``; failing inputs are also written to
``bench/out/fuzz/``.

Size: ``FUZZ_INPUTS`` (default 100,000), cut short after ``FUZZ_SECONDS`` when set; the bound
holds even while a batch is running, and ``FUZZ_MIN_INPUTS`` fails a run cut short before it.
An input still running after ``FUZZ_HANG_SECONDS`` of CPU (default 30) is stopped and reported
as a hang.
Runs in ``FUZZ_JOBS`` processes (default 2), each loading the knowledge base once.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import re
import signal
import sys
import time
import traceback
from collections import Counter
from multiprocessing import TimeoutError as PoolTimeout
from multiprocessing import get_context
from typing import Any

from tests.fuzz.mutate import make_input
from tests.fuzz.seeds import ROOT, load_seeds

OUT = ROOT / "bench" / "out" / "fuzz"
SEED = int(os.environ.get("FUZZ_SEED", "13"))
MAX_SECONDS = float(os.environ.get("FUZZ_MAX_SECONDS", "2.0"))
HANG_SECONDS = float(os.environ.get("FUZZ_HANG_SECONDS", "30"))
"""CPU seconds after which one input is stopped and reported as a hang (it would otherwise
hold its worker, and the whole job, past any time bound)."""
POLL_SECONDS = 2.0

_state: dict[str, Any] = {}


class Hang(BaseException):
    """One input ran past ``HANG_SECONDS`` of CPU (a BaseException: the engine's own
    containment of unreadable parts must not swallow it)."""


def _on_hang(signum: int, frame: object) -> None:
    raise Hang(f"still running after {HANG_SECONDS:g}s of CPU")


def _setup() -> None:
    from bot.conversation.engine import ConversationEngine
    from bot.knowledge.loader import load_kb
    from bot.matching import Matcher

    kb = load_kb()
    matcher = Matcher(kb)
    caught: list[str] = []

    class _Caught(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            caught.append(record.getMessage())

    log = logging.getLogger("bot.diagnosis.collect")
    log.addHandler(_Caught())
    log.setLevel(logging.INFO)
    log.propagate = False
    signal.signal(signal.SIGPROF, _on_hang)
    _state["caught"] = caught
    _state.update(kb=kb, matcher=matcher, engine=ConversationEngine(kb, matcher), seeds=load_seeds())


def input_for(index: int) -> str:
    """Fuzz input number ``index`` (the same on every machine for the same ``FUZZ_SEED``)."""
    if "seeds" not in _state:
        _state["seeds"] = load_seeds()
    return make_input(_state["seeds"], random.Random(f"{SEED}:{index}"))


def run_one(text: str) -> None:
    """``match``, ``diagnose`` (json and text) and one conversation turn on ``text``."""
    from bot.conversation.model import Incoming
    from bot.diagnosis import diagnose_evidence
    from bot.diagnosis.collect import Collected
    from bot.evidence import InputError, iter_lines_binary
    from bot.render import render_markdown, render_text

    kb, matcher, engine = _state["kb"], _state["matcher"], _state["engine"]
    try:
        data = io.BytesIO(text.encode("utf-8", "replace"))
        for _ in matcher.match_lines(iter_lines_binary(data, "fuzz")):
            pass
    except InputError:
        pass  # empty or NUL-holding input: a clear refusal, not a crash
    ev = Collected()
    if text.strip():
        ev.add_text(text, matcher, "fuzz")
    diagnosis = diagnose_evidence(ev, kb)
    json.dumps(diagnosis.to_json())
    list(render_text(diagnosis))
    render_markdown(diagnosis)
    engine.handle(None, Incoming("fuzz", "fuzzer", text, surface="cli"))


def _work(index: int) -> tuple[int, float, float, str | None, list[str]]:
    """(index, CPU seconds, wall seconds, traceback or None) of one input.

    The 2 s bound is on the worker's CPU time: on a shared CI machine the wall clock also
    counts other jobs' turns, which says nothing about the input.
    """
    text = input_for(index)
    caught: list[str] = _state["caught"]
    del caught[:]
    cpu, wall = time.process_time(), time.perf_counter()
    signal.setitimer(signal.ITIMER_PROF, HANG_SECONDS)
    try:
        run_one(text)
        error = None
    except (Exception, Hang):
        error = traceback.format_exc(limit=-6)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    return index, time.process_time() - cpu, time.perf_counter() - wall, error, list(caught)


BATCH = 16


def _work_batch(first: int) -> list[tuple[int, float, float, str | None, list[str]]]:
    """Inputs ``first`` .. ``first + BATCH - 1`` (bounded by ``FUZZ_INPUTS``), one task for the pool."""
    return [_work(i) for i in range(first, min(first + BATCH, _state["total"]))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", type=int, help="run one input by index, with its traceback")
    args = parser.parse_args()
    if args.replay is not None:
        _setup()
        text = input_for(args.replay)
        print(f"input {args.replay}: {len(text)} chars: {text[:300]!r}")
        start = time.perf_counter()
        run_one(text)
        print(f"ok in {time.perf_counter() - start:.2f}s")
        return 0
    total = int(os.environ.get("FUZZ_INPUTS", "100000"))
    first = int(os.environ.get("FUZZ_FIRST", "0"))  # resume or shard a run: inputs first .. total-1
    budget = float(os.environ.get("FUZZ_SECONDS", "0")) or None
    jobs = int(os.environ.get("FUZZ_JOBS", "2"))
    required = int(os.environ.get("FUZZ_MIN_INPUTS", "0"))
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = 0
    slowest = (0.0, -1)
    slowest_wall = 0.0
    contained: Counter[str] = Counter()
    failures: list[tuple[int, str]] = []
    slow: list[tuple[int, float]] = []
    _state["total"] = total  # inherited by the forked workers
    with get_context("fork").Pool(jobs, initializer=_setup) as pool:
        results = pool.imap_unordered(_work_batch, range(first, total, BATCH))
        while True:
            if budget is not None and time.monotonic() - started > budget:
                pool.terminate()  # cuts a running batch too: the bound is the job's, not a batch's
                break
            try:
                batch = results.next(timeout=POLL_SECONDS)
            except PoolTimeout:
                continue
            except StopIteration:
                break
            for index, seconds, wall, error, parts in batch:
                done += 1
                for part in parts:  # a part the engine failed to read: caught, but a bug to fix
                    contained[re.sub(r" at .*?:", ":", part)] += 1
                slowest = max(slowest, (seconds, index))
                slowest_wall = max(slowest_wall, wall)
                if error is not None:
                    failures.append((index, error))
                    (OUT / f"crash-{index}.txt").write_text(input_for(index), encoding="utf-8", errors="surrogatepass")
                elif seconds > MAX_SECONDS:
                    slow.append((index, seconds))
                    (OUT / f"slow-{index}.txt").write_text(input_for(index), encoding="utf-8", errors="surrogatepass")
                if done % 5000 == 0:
                    print(f"  {done} inputs, {time.monotonic() - started:.0f}s", flush=True)
    elapsed = time.monotonic() - started
    print(
        f"fuzz engine: {done} inputs in {elapsed:.0f}s ({jobs} processes, seed {SEED}): "
        f"{len(failures)} exceptions, {len(slow)} over {MAX_SECONDS:.0f}s of CPU, "
        f"slowest {slowest[0]:.2f}s CPU (input {slowest[1]}), {slowest_wall:.2f}s wall at most"
    )
    print(f"parts that failed to read and were contained as problems: {sum(contained.values())}")
    for what, n in contained.most_common(10):
        print(f"  {n:6d}  {what}")
    for index, error in failures[:10]:
        print(f"--- input {index} (replay: python -m tests.fuzz.engine --replay {index})\n{error}")
    for index, seconds in slow[:10]:
        print(f"--- input {index} took {seconds:.2f}s")
    if done < required - first:
        print(f"FAIL: {done} inputs ran before the {budget:.0f}s bound, fewer than FUZZ_MIN_INPUTS={required}")
        return 1
    return 1 if failures or slow else 0


if __name__ == "__main__":
    sys.exit(main())
