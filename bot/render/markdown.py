"""Render a diagnosis as Markdown (GitHub / chat flavour) from a Jinja2 template.

Jinja2 is imported when Markdown is rendered, not with this module: the terminal renderer
uses ``cross_findings`` from here, and a short ``diagnose`` should not pay for Jinja2.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Template

    from bot.diagnosis.model import Diagnosis, Finding


@lru_cache(maxsize=1)
def _template() -> Template:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("bot.render", "templates"),
        autoescape=select_autoescape(enabled_extensions=(), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("diagnosis.md.j2")


def render_markdown(diagnosis: Diagnosis) -> str:
    """The diagnosis as Markdown."""
    return _template().render(d=diagnosis, special=cross_findings(diagnosis)).strip() + "\n"


def cross_findings(diagnosis: Diagnosis) -> list[Finding]:
    """Findings other than the one-per-matched-entry ones (those are the matches themselves)."""
    matched = {m.kb_id for m in diagnosis.matches}
    return [f for f in diagnosis.findings if f.id not in matched]
