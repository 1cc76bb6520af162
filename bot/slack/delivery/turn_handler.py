"""One turn of a conversation: dedupe, read files, run the engine inside the store's atomic
update, post the replies. Runs in a worker process (or a worker thread with
``NGINX_TRIAGE_TURNS=threads``), never on the thread that acks Slack."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bot.conversation.model import ConversationState, Incoming, IncomingFile, Reply
from bot.evidence.redact import redact
from bot.slack.delivery.jobs import Turn
from bot.slack.files import FileFetcher, FileRefused
from bot.slack.logs import logging_context
from bot.slack.metrics import EVENTS_DUPLICATE, REPLY_SECONDS, UNMATCHED_LINES
from bot.slack.ports import ConversationStore, Engine
from bot.slack.replies import Destination
from bot.slack.settings import SlackSettings
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.turns")


_DEDUPED_BY_INBOX: ContextVar[str | None] = ContextVar("nginx_triage_deduped_by_inbox", default=None)


@contextmanager
def deduplicated_by_inbox(event_id: str) -> Iterator[None]:
    """While running a job taken from the inbox: its event id was already deduplicated when it
    was written there (``InboxTable.enqueue``), so ``TurnHandler.claim`` lets it through, also when
    it is re-run after a crash."""
    token = _DEDUPED_BY_INBOX.set(event_id)
    try:
        yield
    finally:
        _DEDUPED_BY_INBOX.reset(token)


def error_reply(text: str) -> Reply:
    """A reply that says what could not be used and what to do instead."""
    return Reply(kind="error", text=text)


class TurnHandler:
    """Runs one turn: dedupe, files, the engine inside the store's atomic update, the replies.

    Stateless between turns, so any number of threads (or worker processes, each with its
    own handler) may run turns; ordering per thread is the runner's job (``bot.slack.delivery.thread_runner``,
    ``bot.slack.delivery.process_runner``) and the store's row lock keeps replicas consistent.
    """

    def __init__(self, settings: SlackSettings, store: ConversationStore, engine: Engine, files: FileFetcher) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.files = files

    def claim(self, event_id: str | None) -> bool:
        """True when this process should handle the event; False for a delivery already claimed."""
        if not event_id or _DEDUPED_BY_INBOX.get() == event_id:
            return True
        if self.store.claim_event(event_id):
            return True
        EVENTS_DUPLICATE.inc()
        log.info("duplicate delivery ignored")
        return False

    def run_if_known(self, turn: Turn, dest: Destination) -> list[Reply]:
        """``run`` for a thread reply in a channel: only threads the bot already has a conversation in."""
        with logging_context(thread=turn.thread, event_id=turn.event_id, channel=turn.channel):
            try:
                known = self.store.load(turn.thread) is not None
            except StoreError as exc:
                log.error("store unavailable; thread reply not handled: %s", exc)
                return []
        return self.run(turn, dest) if known else []

    def run(self, turn: Turn, dest: Destination) -> list[Reply]:
        """Handle one turn and post its replies; every failure ends in a log line and, when it
        helps, a reply saying what went wrong."""
        with logging_context(
            thread=turn.thread,
            event_id=turn.event_id,
            retry_num=turn.retry_num,
            channel=turn.channel,
            surface=turn.surface,
            kind=turn.kind,
        ):
            try:
                if not self.claim(turn.event_id):
                    return []
                replies = self._replies(turn)
            except StoreError as exc:
                log.error("store unavailable: %s", exc)
                replies = [
                    error_reply(
                        "I can't reach my database right now, so I can't continue this thread. Try again in a minute."
                    )
                ]
            posted = sum(1 for reply in replies if dest.post(reply))
            self._remember_answer(turn.thread, getattr(dest, "answer_ts", None))
            if posted:
                REPLY_SECONDS.observe(time.monotonic() - turn.received_at)
            log.info(
                "turn handled",
                extra={
                    "replies": len(replies),
                    "posted": posted,
                    "seconds": round(time.monotonic() - turn.received_at, 3),
                },
            )
            return replies

    def _remember_answer(self, thread: str, ts: str | None) -> None:
        """Store where the thread's first answer is, so later pastes update it (``chat.update``)."""
        if not ts:
            return

        def remember(state: ConversationState | None) -> tuple[ConversationState, None]:
            state = state if state is not None else ConversationState(thread=thread)
            if state.answer_ref is None:
                state.answer_ref = ts
            return state, None

        try:
            self.store.update(thread, remember)
        except StoreError as exc:
            log.warning("could not store where the first answer is: %s", exc)

    def _replies(self, turn: Turn) -> list[Reply]:
        problems: list[Reply] = []
        text = turn.text
        files: list[IncomingFile] = []
        for ref in turn.files:
            try:
                files.append(self.files.fetch(ref))
            except FileRefused as refused:
                problems.append(error_reply(f"I did not read that file: {refused}."))
        if not text and not files and turn.action is None and problems:
            return problems
        incoming = Incoming(
            thread=turn.thread,
            user=turn.user,
            text=text,
            files=tuple(files),
            surface=turn.surface,
            action=turn.action,
            action_value=turn.action_value,
            masked=turn.masked,
        )
        try:
            replies = self.store.update(turn.thread, lambda state: self.engine.handle(state, incoming))
        except StoreError:
            raise
        except Exception:
            log.exception("the conversation engine failed")
            replies = [
                error_reply(
                    "Something went wrong on my side while reading that; it is logged. "
                    "Try again, or paste a smaller part."
                )
            ]
        self._record_unmatched(incoming, replies)
        return problems + replies

    def _record_unmatched(self, incoming: Incoming, replies: list[Reply]) -> None:
        """Queue lines nothing matched (redacted) for KB growth; only lines this turn brought in,
        since the diagnosis is recomputed from every paste of the thread."""
        new_parts = [text for text in (incoming.text, *(f.text for f in incoming.files)) if text.strip()]
        if not new_parts:
            return
        # Part by part, as the engine keeps them: a file redacted at intake is then not scanned again.
        redacted_new = "\n".join(redact(text)[0] for text in new_parts)
        lines: list[str] = []
        for reply in replies:
            if reply.diagnosis is None:
                continue
            for sample in reply.diagnosis.unmatched_samples:
                clean, _ = redact(sample)
                if clean and clean in redacted_new:
                    lines.append(clean)
        if not lines:
            return
        try:
            self.store.record_unmatched(lines)
            UNMATCHED_LINES.inc(len(lines))
        except StoreError as exc:
            log.warning("could not record unmatched lines: %s", exc)
