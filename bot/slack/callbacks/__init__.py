"""What each Slack surface does, kept apart from the wiring in ``bot.slack.listeners``."""
