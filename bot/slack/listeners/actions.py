"""Buttons (``block_actions``) under the bot's replies."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.conversation.model import ACTION_IDS
from bot.slack.bot import TriageBot
from bot.slack.callbacks.action import on_block_action


def register(app: App, bot: TriageBot) -> None:
    """One listener per action id in ``ACTION_IDS``; other action ids are not ours."""

    def block_action(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        on_block_action(bot, ack, body, action)

    for action_id in ACTION_IDS:
        app.action(action_id)(block_action)
