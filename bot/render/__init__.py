"""A diagnosis or a conversation reply, rendered: Markdown, terminal text, Slack Block Kit.

The stage before the front doors. Renderers take data and return data (strings, rich
renderables, block lists); printing and posting are the front doors' work.
"""

from bot.render.blocks import SlackMessage, render_reply, validate_message
from bot.render.home import home_view, validate_view
from bot.render.markdown import render_markdown
from bot.render.slack_limits import validate_blocks
from bot.render.text import TextPart, render_text

__all__ = [
    "SlackMessage",
    "TextPart",
    "home_view",
    "render_markdown",
    "render_reply",
    "render_text",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
