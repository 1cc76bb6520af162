"""Slash command ``/nginx-triage``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.commands.nginx_triage import COMMAND, nginx_triage_callback


def register(app: App) -> None:
    """``/nginx-triage diagnose|ask|help``."""
    app.command(COMMAND)(nginx_triage_callback)
