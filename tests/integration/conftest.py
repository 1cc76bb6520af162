"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1, recording every call; stopped after the test."""
    server = FakeSlack().start()
    yield server
    server.stop()
