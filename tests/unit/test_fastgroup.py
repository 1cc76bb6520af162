"""The C fast path (bot/native/_fastscan.c + bot/grouping/fastgroup.py) against the
pure-Python reference (``group_lines``): same groups, counts, times, pids, tallies,
facts, samples and unmatched lines, whatever the chunk size and the flush points.

Skips when the extension is not built, except in CI (``CI=true``), where it must be.
"""

from __future__ import annotations

import gc
import io
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.gen_errorlog import generate
from bot.cli.parallel import group_file_parallel
from bot.evidence import InputError, iter_lines_binary, parse_line
from bot.grouping import Grouper, fastgroup, group_lines
from bot.knowledge.loader import KnowledgeBase
from bot.matching import Matcher
from bot.native import fastscan

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

needs_native = pytest.mark.skipif(
    fastscan is None and not IN_CI,
    reason="the C extension bot.native._fastscan is not built (no compiler at install time)",
)


def test_extension_is_built_in_ci() -> None:
    if fastscan is None:
        if IN_CI:
            pytest.fail("CI=true but bot.native._fastscan is not importable: the build hook did not compile it")
        pytest.skip("the C extension bot.native._fastscan is not built (no compiler at install time)")
    assert fastgroup.available()


def snapshot(g: Grouper) -> dict[str, Any]:
    """Everything a Grouper records, in a comparable shape (orders included)."""
    return {
        "lines": g.lines,
        "unmatched": g.unmatched,
        "unmatched_samples": list(g.unmatched_samples),
        "order": list(g.groups),
        "groups": {
            k: {
                "count": v.count,
                "fuzzy": v.fuzzy,
                "first": v.first_time,
                "last": v.last_time,
                "levels": list(v.levels.items()),
                "pids": (list(v.pids.counts.items()), v.pids.other),
                "tallies": [(t, list(c.counts.items()), c.other) for t, c in v.tallies.items()],
                "facts": v.facts,
                "samples": list(v.samples),
            }
            for k, v in g.groups.items()
        },
    }


def reference(data: bytes, kb: KnowledgeBase) -> Grouper:
    return group_lines(iter_lines_binary(io.BytesIO(data), "test"), Matcher(kb))


def native(data: bytes, kb: KnowledgeBase, **kw: Any) -> Grouper:
    return fastgroup.group_stream_native(io.BytesIO(data), "test", Matcher(kb), **kw)


def assert_same(data: bytes, kb: KnowledgeBase, **kw: Any) -> Grouper:
    ref = reference(data, kb)
    got = native(data, kb, **kw)
    assert snapshot(got) == snapshot(ref)
    return got


@pytest.fixture(scope="module")
def bench_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "error-50000.log"
    generate(path, 50_000)
    return path


@needs_native
def test_generated_bench_log_equals_python(bench_log: Path, kb: KnowledgeBase) -> None:
    got = assert_same(bench_log.read_bytes(), kb)
    assert got.lines == 50_000 and len(got.groups) > 10


@needs_native
@pytest.mark.parametrize("chunk", [1024, 64 * 1024, 4 << 20])
def test_result_does_not_depend_on_chunk_size(bench_log: Path, kb: KnowledgeBase, chunk: int) -> None:
    data = bench_log.read_bytes()[: 3 << 20]
    assert_same(data, kb, chunk_bytes=chunk)


@needs_native
def test_real_capture_equals_python(kb: KnowledgeBase) -> None:
    assert_same((ROOT / "examples" / "worker-connections" / "error.log").read_bytes(), kb)


MIXED = [
    b"2026/11/01 00:00:01 [alert] 2718#2718: *5 1024 worker_connections are not enough while connecting to upstream, "
    b'client: 10.0.0.1, server: api, request: "GET / HTTP/1.1", upstream: "http://10.0.0.9:80/", host: "api"',
    b"web_1  | 2026/11/01 00:00:02 [alert] 2719#2719: *6 1024 worker_connections are not enough, client: 10.0.0.2",
    b"web_1 |  2026/11/01 00:00:02 [alert] 2719#2719: *6 1024 worker_connections are not enough, client: 10.0.0.2",
    b"web_1 | 2026/11/01 00:00:02 [alert] 2719#2719: * 6 1024 worker_connections are not enough",
    b"web_1 | 2026/11/01 00:00:02 [alert] 2719#2719: *6\t1024 worker_connections are not enough",
    b"web_1 | 2026/11/01 00:00:02 [alert] 2719#2719:  *6 1024 worker_connections are not enough",
    b"web_1 | 2026/xx/01 00:00:02 [alert] 2719#2719: *6 1024 worker_connections are not enough",
    b"Nov  1 00:00:03 host nginx[12]: 2026/11/01 00:00:03 [crit] 12#12: *7 connect() to unix:/run/php.sock failed "
    b"(2: No such file or directory) while connecting to upstream, client: 10.0.0.3, server: _",
    b"2026-11-01T00:00:04.123Z stderr F 2026/11/01 00:00:04 [error] 1#1: *8 upstream timed out (110: Connection "
    b'timed out) while reading response header from upstream, client: 10.0.0.4, server: x, upstream: "http://a/"',
    b"2026/11/01 00:00:05 [error] 2718#2718: *9 upstream timed out (110: Connection timed out) while reading "
    b'response header from upstream, client: "quo\\"ted", server: \xff\xfe, host: "h\xc3\xa9"',
    b"2026/11/01 00:00:06 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)",
    b"nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
    b"2026/11/01 00:00:07 [ERROR] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)",
    b"2026/11/01 00:00:07 [error]  1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)",
    b'2026/11/01 00:00:08 [warn] 0042#7: *12x an unknown thing happened, client: , server: ""',
    b"2026/11/01 00:00:08 [warn] 42#7: *12 an unknown thing happened, client: 1.2.3.4, server: a , upstream: b,",
    b"",
    b"   \t",
    b"\r",
    b"2026/11/01 00:00:09 [info] 3#3: *1 client closed connection while waiting for request, client: 1.1.1.1\r",
    b'> 2026/11/01 00:00:10 [error] 3#3: *2 open() "/x" failed (2: No such file or directory), client: 2.2.2.2',
    b"x" * 9000,
    b'2026/11/01 00:00:11 [error] 3#3: *2 open() "/' + b"y" * 8300 + b'" failed (2: No such file or directory)',
    b'2026/11/01 00:00:12 [error] 3#3: *2 open() "/' + b"z" * 20000 + b'" failed (2: No such file or directory)',
    b"just some words that are not nginx",
    b'2026/11/01 00:00:13 [error] 3#3: *2 caf\xc3\xa9 open() "/x" failed (2: No such file or directory)',
]


@needs_native
@pytest.mark.parametrize("chunk", [7, 1024, 4 << 20])
def test_mixed_wrapped_invalid_utf8_and_overlong_lines(kb: KnowledgeBase, chunk: int) -> None:
    data = b"\n".join(MIXED * 3) + b"\n" + MIXED[0]  # last line without a newline
    assert_same(data, kb, chunk_bytes=chunk)


@needs_native
def test_head_cap_flushes_and_keeps_the_result(bench_log: Path, kb: KnowledgeBase) -> None:
    data = bench_log.read_bytes()[: 2 << 20]
    assert_same(data, kb, max_heads=3, chunk_bytes=4096)


@needs_native
def test_scanner_memory_is_bounded() -> None:
    assert fastscan is not None
    scanner = fastscan.Scanner(max_heads=50, max_distinct=10)
    lines = b"".join(
        b"2026/11/01 00:00:01 [error] 1#1: *1 message number %d, client: 10.0.%d.%d\n" % (i % 200, i % 7, i)
        for i in range(5000)
    )
    scanner.feed(lines)
    exported = 0
    while True:
        fallback, more = scanner.run()
        assert not fallback
        assert scanner.heads <= 50
        if scanner.full:
            heads, _blank = scanner.export()
            exported += sum(h[1] for h in heads)
            assert all(len(h[7][1]) <= 10 for h in heads)  # distinct clients per head, the rest in `other`
        if not more:
            break
    heads, _blank = scanner.export()
    exported += sum(h[1] for h in heads)
    assert exported == 5000


@needs_native
def test_parallel_path_equals_python(bench_log: Path, kb: KnowledgeBase) -> None:
    ref = reference(bench_log.read_bytes(), kb)
    got = group_file_parallel(bench_log, Matcher(kb), workers=2)
    assert snapshot(got) == snapshot(ref)
    assert gc.get_freeze_count() == 0  # frozen for the fork only: the parent collects as usual after


@needs_native
def test_parallel_worker_error_reaches_the_caller(bench_log: Path, kb: KnowledgeBase, tmp_path: Path) -> None:
    """A worker's InputError (here: binary data at the start of the second half) is raised in
    the parent, with its message, as the serial path raises it."""
    data = bench_log.read_bytes()
    half = data.index(b"\n", len(data) // 2) + 1
    path = tmp_path / "error.log"
    path.write_bytes(data[:half] + b"\x00" * 100 + data[half:])
    with pytest.raises(InputError, match="NUL byte"):
        group_file_parallel(path, Matcher(kb), workers=2)
    assert gc.get_freeze_count() == 0


def test_warming_changes_no_answer(kb: KnowledgeBase, matcher: Matcher) -> None:
    """``Matcher.warm`` (run before the fork) does the first-use work only: the head cache is
    left as it was, so lines matched afterwards get the answers a fresh matcher gives."""
    matched, other = _messages(kb, matcher)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_nginxish(matched, other), max_size=30), st.lists(_nginxish(matched, other), max_size=30))
    def check(warming: list[bytes], later: list[bytes]) -> None:
        warmed, fresh = Matcher(kb), Matcher(kb)
        warmed.warm(raw.decode("utf-8", "replace") for raw in warming)
        assert warmed.structure_sizes()["matcher_heads"][0] == 0
        for raw in later:
            text = raw.decode("utf-8", "replace")
            assert warmed.match_text(text) == fresh.match_text(text)

    check()


@needs_native
def test_empty_and_binary_input_are_refused_like_the_python_path(kb: KnowledgeBase) -> None:
    for data in (b"", b"   \n\n", b"\x00\x01\x02" * 100):
        with pytest.raises(InputError):
            native(data, kb)


def _messages(kb: KnowledgeBase, matcher: Matcher) -> tuple[list[str], list[str]]:
    """Heads of KB examples that the fast path matches, and messages that match nothing."""
    matched = []
    for entry in sorted(kb.errors.values(), key=lambda e: e.id):
        for ex in entry.examples:
            msg = parse_line(ex.line).message
            head = msg.split(", client: ")[0]
            if head.isascii() and matcher.match_fast(parse_line(head)) is not None:
                matched.append(head)
    return matched, ["gracefully shutting down", "start worker process 4242", 'using the "epoll" event method']


def _nginxish(matched: list[str], other: list[str]) -> st.SearchStrategy[bytes]:
    ip = st.sampled_from(["10.0.0.1", "10.0.0.2", "192.168.1.7", "", " 1.2.3.4 ", '"q\\"x"', '"unterminated'])
    ctx = st.builds(
        lambda c, s, u, h, r: f', client: {c}, server: {s}, request: "{r}", upstream: {u}, host: {h}',
        ip,
        st.sampled_from(["api", "_", "", '"www"']),
        st.sampled_from(['"http://10.0.0.9:80/"', "x, y"]),
        st.sampled_from(['"api"', "h", ""]),
        st.sampled_from(["GET / HTTP/1.1", "GET /a, server: evil HTTP/1.1"]),
    )
    message = st.one_of(
        st.builds(lambda m, c: m + c, st.sampled_from(matched), st.one_of(st.just(""), ctx)),
        st.sampled_from(other),
    )
    prefix = st.builds(
        lambda d, lvl, pid, cid: f"{d} [{lvl}] {pid}: {cid}",
        st.sampled_from(["2026/11/01 00:00:01", "2026/11/01 00:00:02", "2025/12/31 23:59:59", "2026/1x/01 00:00:01"]),
        st.sampled_from(["error", "alert", "warn", "ERROR", "crit"]),
        st.sampled_from(["12#12", "0012#3", "7#7", "1 #1", "99999999999#1"]),
        st.sampled_from(["*1 ", "*22 ", "", "* 3 ", "*4\t", "*x ", " "]),
    )
    wrapper = st.sampled_from(["", "", "", "web_1  | ", "web_1 |  ", "host nginx[1]: ", "> "])
    tail = st.sampled_from(["", "", " ", "\r", "\t"])
    line = st.builds(lambda w, p, m, t: (w + p + m + t).encode(), wrapper, prefix, message, tail)
    junk = st.sampled_from([b"", b"  ", b"caf\xc3\xa9 \xff", b"not nginx at all"])
    return st.one_of(line, line, line, junk)


@needs_native
def test_random_nginxish_logs_equal_python(kb: KnowledgeBase, matcher: Matcher) -> None:
    matched, other = _messages(kb, matcher)
    assert matched

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_nginxish(matched, other), min_size=1, max_size=60), st.sampled_from([5, 64, 4096]))
    def check(lines: list[bytes], chunk: int) -> None:
        data = b"\n".join(lines)
        if not data.strip():
            return
        assert_same(data, kb, chunk_bytes=chunk, max_heads=4)

    check()
