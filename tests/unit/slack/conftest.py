"""Fixtures for the Slack unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_slack import FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1 (response_url posts land here); stopped after the test."""
    server = FakeSlack().start()
    yield server
    server.stop()
