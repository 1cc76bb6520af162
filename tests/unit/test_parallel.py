"""``bot.cli.parallel.fork_map``: one forked child per item, answers in order, failures raised here."""

from __future__ import annotations

import os

import pytest

from bot.cli.parallel import fork_map
from bot.evidence import InputError


def test_answers_come_back_in_item_order_from_other_processes() -> None:
    parent = os.getpid()
    got = fork_map(lambda n: (n * n, os.getpid() != parent), [3, 1, 2])
    assert got == [(9, True), (1, True), (4, True)]


def test_an_answer_bigger_than_a_pipe_buffer_arrives_whole() -> None:
    assert fork_map(lambda n: b"x" * n, [1 << 20, 3]) == [b"x" * (1 << 20), b"xxx"]


def test_a_child_exception_is_raised_in_the_parent_with_its_message() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise InputError("part 2: NUL byte at offset 7")
        return n

    with pytest.raises(InputError, match="NUL byte at offset 7"):
        fork_map(work, [1, 2, 3])


def test_a_child_that_dies_without_an_answer_is_an_error_not_a_hang() -> None:
    def work(n: int) -> int:
        if n == 1:
            os._exit(9)  # as if killed
        return n

    with pytest.raises(RuntimeError, match="without an answer"):
        fork_map(work, [0, 1])


def test_every_child_is_reaped() -> None:
    for pid in fork_map(lambda _n: os.getpid(), [1, 2]):
        with pytest.raises(ChildProcessError):  # already waited for: no zombie left behind
            os.waitpid(pid, os.WNOHANG)
