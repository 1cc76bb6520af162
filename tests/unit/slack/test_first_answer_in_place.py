"""The thread's first answer is updated in place (issue 10): ``ThreadDestination`` sends a reply
that ``replaces`` the first answer with chat.update, remembers where a new first answer went,
and posts anew when Slack refuses the update (the message was deleted)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.conversation.model import Reply
from bot.slack.replies import ThreadDestination
from tests.fakes.fake_slack import BOT_TOKEN, FakeSlack

CHANNEL = "C0FIRST"
ROOT = "1700000500.000100"


def _dest(fake: FakeSlack) -> ThreadDestination:
    return ThreadDestination(WebClient(token=BOT_TOKEN, base_url=fake.base_url), CHANNEL, ROOT)


def test_the_first_answer_is_remembered_then_updated_in_place(fake: FakeSlack) -> None:
    dest = _dest(fake)
    assert dest.post(Reply("diagnosis", "**What happened:** first"))
    ts = dest.answer_ts
    assert ts and [m.ts for m in fake.thread_messages(CHANNEL, ROOT)] == [ts]
    later = _dest(fake)
    assert later.post(Reply("diagnosis", "**What happened:** updated", replaces=ts))
    assert later.post(Reply("update", "**Updated the answer above** with your new paste"))
    msgs = fake.thread_messages(CHANNEL, ROOT)
    assert msgs[0].ts == ts and len(msgs) == 2
    assert "updated" in msgs[0].text and msgs[0].edits == 1
    assert later.answer_ts is None  # nothing new was posted as a first answer
    assert len(fake.calls_to("chat.update")) == 1


def test_a_refused_update_posts_the_answer_anew(fake: FakeSlack) -> None:
    dest = _dest(fake)
    fake.fail_next("chat.update", "message_not_found")
    assert dest.post(Reply("diagnosis", "**What happened:** again", replaces="1700000000.999999"))
    msgs = fake.thread_messages(CHANNEL, ROOT)
    assert len(msgs) == 1 and "again" in msgs[0].text and dest.answer_ts == msgs[0].ts
