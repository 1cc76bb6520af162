"""``app_home_opened_callback``: the Home tab (not the Messages tab) queues one views.publish."""

from __future__ import annotations

import pytest

from bot.slack.delivery.jobs import HomeJob
from bot.slack.listeners.events.app_home_opened import app_home_opened_callback
from tests.fakes.bolt_fakes import RecordingTriage, context_for


def test_opening_the_home_tab_queues_its_view_for_that_user() -> None:
    triage = RecordingTriage()
    event = {"type": "app_home_opened", "user": "U0HUMAN1", "tab": "home"}
    app_home_opened_callback(body={"event_id": "EvHome1"}, event=event, context=context_for(triage))
    assert triage.submitted == [HomeJob("U0HUMAN1", "EvHome1")]


@pytest.mark.parametrize("event", [{"user": "U0HUMAN1", "tab": "messages"}, {"tab": "home"}])
def test_the_messages_tab_or_no_user_queues_nothing(event: dict[str, str]) -> None:
    triage = RecordingTriage()
    app_home_opened_callback(body={"event_id": "EvHome2"}, event=event, context=context_for(triage))
    assert triage.submitted == []
