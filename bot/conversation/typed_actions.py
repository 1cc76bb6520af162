"""Button words typed as text: "done", "walk me through it", "explain" work like the buttons.

In the terminal there are no buttons, and in Slack people type "done" as often as they click.
A typed word acts on the thread's current step, also after a question in between (the guide
state stays in ``ConversationState``). The words are each button's label plus the aliases in
kb/texts/answer.yaml (``typed_<action>``), compared whole, case and punctuation aside.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.conversation.model import ConversationState, Incoming
from bot.knowledge.texts import say

_BUTTON_LABELS = {
    "guide_start": "conversation.button_walk",
    "guide_done": "conversation.button_done",
    "guide_paste": "conversation.button_paste",
    "guide_explain": "conversation.button_explain",
    "feedback_helpful": "conversation.button_helpful",
    "feedback_not_helpful": "conversation.button_not_helpful",
    "feedback_human": "conversation.button_human",
}
_ALIASES = {
    "guide_start": "answer.typed_guide_start",
    "guide_done": "answer.typed_guide_done",
    "guide_paste": "answer.typed_guide_paste",
    "guide_explain": "answer.typed_guide_explain",
    "feedback_helpful": "answer.typed_feedback_helpful",
    "feedback_not_helpful": "answer.typed_feedback_not_helpful",
    "feedback_human": "answer.typed_feedback_human",
}
_FEEDBACK_VALUES = {"feedback_helpful": "helpful", "feedback_not_helpful": "not_helpful", "feedback_human": "human"}

MAX_TYPED_CHARS = 40


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def words_for(action: str) -> set[str]:
    """The typed forms of one button: its label and the aliases of kb/texts/answer.yaml."""
    words = {_norm(say(_BUTTON_LABELS[action]))}
    aliases = say(_ALIASES[action])
    words |= {_norm(a) for a in aliases.split(",") if a.strip()}
    return words


def typed_action(incoming: Incoming, state: ConversationState) -> Incoming | None:
    """The button ``incoming`` names in words, as a button click on the current step; else None."""
    if incoming.files or incoming.action or len(incoming.text) > MAX_TYPED_CHARS:
        return None
    said = _norm(incoming.text)
    if not said or not state.pastes:
        return None
    for action in _BUTTON_LABELS:
        if said in words_for(action):
            value = _FEEDBACK_VALUES.get(action) or (str(state.guide_step) if state.guide_step else "1")
            return replace(incoming, text="", action=action, action_value=value)
    return None
