"""The Slack listeners, one sub-package per surface; each ``__init__`` only wires Slack's
triggers to the callbacks in the modules beside it.

Every callback is a plain module function: it reads the payload, turns it into a job
(``bot.slack.delivery.jobs``) and hands it to the ``TriageBot`` it finds in Bolt's
``context`` (``triage_of``). Nothing here waits for the engine or the Web API.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, messages, shortcuts


def register_listeners(app: App) -> None:
    """Register every listener the app manifest subscribes to (Bolt answers 404 to unhandled ones)."""
    events.register(app)
    messages.register(app)
    commands.register(app)
    actions.register(app)
    shortcuts.register(app)
