"""A diagnosis or a conversation reply, rendered: Markdown, terminal text, Slack Block Kit.

The stage before the front doors. Renderers take data and return data (strings, rich
renderables, block lists); printing and posting are the front doors' work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from bot.render.blocks import SlackMessage, render_reply, validate_message
    from bot.render.home import home_view, validate_view
    from bot.render.markdown import render_markdown
    from bot.render.slack_limits import validate_blocks
    from bot.render.text import TextPart, render_text

# Names load on first use (PEP 562): the terminal renderer must not import the Slack ones
# (Block Kit, the App Home and, through it, pydantic), start-up being part of the CLI (issue 11).
_LAZY = {
    "SlackMessage": "bot.render.blocks",
    "render_reply": "bot.render.blocks",
    "validate_message": "bot.render.blocks",
    "home_view": "bot.render.home",
    "validate_view": "bot.render.home",
    "render_markdown": "bot.render.markdown",
    "validate_blocks": "bot.render.slack_limits",
    "TextPart": "bot.render.text",
    "render_text": "bot.render.text",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
