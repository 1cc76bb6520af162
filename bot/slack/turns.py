"""One turn of a conversation: dedupe, read files, run the engine inside the store's atomic
update, post the replies. Runs on a bounded worker pool, never on the thread that acks Slack."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.conversation.model import Incoming, IncomingFile, Reply, Surface
from bot.evidence.redact import redact
from bot.slack.files import FileFetcher, FileRef, FileRefused
from bot.slack.logs import logging_context
from bot.slack.metrics import EVENTS_DUPLICATE, REPLY_SECONDS, TURNS_IN_FLIGHT, UNMATCHED_LINES
from bot.slack.ports import ConversationStore, Engine
from bot.slack.replies import Destination
from bot.slack.settings import SlackSettings
from bot.store import StoreError

log = logging.getLogger("nginx_triage.slack.turns")


def thread_key(team: str, channel: str, thread_ts: str) -> str:
    """The conversation key (``Incoming.thread``): ``team:channel:thread_ts``."""
    return f"{team}:{channel}:{thread_ts}"


@dataclass(frozen=True)
class Turn:
    """What one Slack interaction asks of the engine, before files are downloaded."""

    team: str
    channel: str
    thread_ts: str
    user: str
    surface: Surface
    text: str = ""
    files: tuple[FileRef, ...] = ()
    action: str | None = None
    action_value: str | None = None
    event_id: str | None = None
    retry_num: str | None = None
    kind: str = ""
    received_at: float = field(default_factory=time.monotonic)

    @property
    def thread(self) -> str:
        """The conversation key."""
        return thread_key(self.team, self.channel, self.thread_ts)


def error_reply(text: str) -> Reply:
    """A reply that says what could not be used and what to do instead."""
    return Reply(kind="error", text=text)


class TurnRunner:
    """Runs turns on a bounded pool; turns of one thread run one after the other, in order, in
    this process (the store's atomic update keeps replicas consistent)."""

    def __init__(self, settings: SlackSettings, store: ConversationStore, engine: Engine, files: FileFetcher) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.files = files
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="nginx-triage-turn")
        self._queues: dict[str, deque[Callable[[], object]]] = {}
        self._queues_lock = threading.Lock()
        self._pending = 0
        self._pending_lock = threading.Condition()

    # -- pool ------------------------------------------------------------------------

    def submit(self, job: Callable[[], object], key: str | None = None) -> None:
        """Queue work after the ack; exceptions are logged, never raised into Bolt.

        Jobs with the same ``key`` (a thread) run one at a time in submission order, so a
        reply typed while the bot is still answering the mention is read after it.
        """
        with self._pending_lock:
            self._pending += 1
        TURNS_IN_FLIGHT.inc()
        if key is None:
            self._pool.submit(self._run_one, job)
            return
        with self._queues_lock:
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(job)
                return
            self._queues[key] = deque([job])
        self._pool.submit(self._drain, key)

    def _run_one(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:
            log.exception("a turn failed")
        finally:
            TURNS_IN_FLIGHT.dec()
            with self._pending_lock:
                self._pending -= 1
                self._pending_lock.notify_all()

    def _drain(self, key: str) -> None:
        """Run the jobs queued for one key until none is left."""
        while True:
            with self._queues_lock:
                job = self._queues[key][0]
            self._run_one(job)
            with self._queues_lock:
                queue = self._queues[key]
                queue.popleft()
                if not queue:
                    del self._queues[key]
                    return

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no turn is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._pending_lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._pending_lock.wait(left)
        return True

    def shutdown(self, timeout: float = 20.0) -> bool:
        """Finish queued turns (up to ``timeout``), then stop the pool."""
        idle = self.wait_idle(timeout)
        self._pool.shutdown(wait=idle, cancel_futures=True)
        return idle

    # -- one turn --------------------------------------------------------------------

    def claim(self, event_id: str | None) -> bool:
        """True when this process should handle the event; False for a delivery already claimed."""
        if not event_id:
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
        with logging_context(thread=turn.thread, event_id=turn.event_id, retry_num=turn.retry_num,
                             channel=turn.channel, surface=turn.surface, kind=turn.kind):
            try:
                if not self.claim(turn.event_id):
                    return []
                replies = self._replies(turn)
            except StoreError as exc:
                log.error("store unavailable: %s", exc)
                replies = [error_reply("I can't reach my database right now, so I can't continue this thread. "
                                       "Try again in a minute.")]
            posted = sum(1 for reply in replies if dest.post(reply))
            if posted:
                REPLY_SECONDS.observe(time.monotonic() - turn.received_at)
            log.info("turn handled", extra={"replies": len(replies), "posted": posted,
                                            "seconds": round(time.monotonic() - turn.received_at, 3)})
            return replies

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
        incoming = Incoming(thread=turn.thread, user=turn.user, text=text, files=tuple(files),
                            surface=turn.surface, action=turn.action, action_value=turn.action_value)
        try:
            replies = self.store.update(turn.thread, lambda state: self.engine.handle(state, incoming))
        except StoreError:
            raise
        except Exception:
            log.exception("the conversation engine failed")
            replies = [error_reply("Something went wrong on my side while reading that; it is logged. "
                                   "Try again, or paste a smaller part.")]
        self._record_unmatched(incoming, replies)
        return problems + replies

    def _record_unmatched(self, incoming: Incoming, replies: list[Reply]) -> None:
        """Queue lines nothing matched (redacted) for KB growth; only lines this turn brought in,
        since the diagnosis is recomputed from every paste of the thread."""
        new_text = "\n".join([incoming.text, *(f.text for f in incoming.files)])
        if not new_text.strip():
            return
        redacted_new, _ = redact(new_text)
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
