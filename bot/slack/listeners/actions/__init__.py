"""Buttons (``block_actions``) under the bot's replies."""

from __future__ import annotations

from slack_bolt import App

from bot.conversation.model import ACTION_IDS, FEEDBACK_ACTION_ID
from bot.slack.listeners.actions.reply_buttons import reply_button_callback


def register(app: App) -> None:
    """One listener per action id in ``ACTION_IDS`` and Slack's feedback element; others are not ours."""
    for action_id in (*ACTION_IDS, FEEDBACK_ACTION_ID):
        app.action(action_id)(reply_button_callback)
