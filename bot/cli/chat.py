"""``nginx-triage chat``: the Slack conversation in a terminal, driven by the same engine.

Useful where Slack is not (an air-gapped host, a demo, a test): paste evidence, get the
same replies, press the same buttons by typing their number or name. In a terminal every
paste is one message (bracketed paste); piped input works too, a message ending at a blank
line unless a fence, an ``nginx -T`` dump or braces are still open (``bot.cli.paste``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax

from bot.cli.paste import BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON, MessageReader
from bot.conversation.engine import ConversationEngine
from bot.conversation.model import Attachment, Button, ConversationState, Incoming, IncomingFile, Reply
from bot.evidence.numbers import is_number
from bot.knowledge.loader import KnowledgeBase
from bot.lazy_re import lazy_compile
from bot.matching.matcher import Matcher

QUIT_WORDS = frozenset({"quit", "exit", "bye", ":q"})

_KEYWORDS = {
    "done": "guide_done",
    "paste": "guide_paste",
    "explain": "guide_explain",
    "why": "guide_explain",
    "walk": "guide_start",
    "guide": "guide_start",
    "start": "guide_start",
    "helpful": "feedback_helpful",
    "yes": "feedback_helpful",
    "not helpful": "feedback_not_helpful",
    "no": "feedback_not_helpful",
    "human": "feedback_human",
}
"""Words a user types for a button; they only count while the last reply showed that button."""

_FILE_COMMAND = lazy_compile(r"^/file\s+(?P<path>\S.*)$")
_SAFE_NAME = lazy_compile(r"[^A-Za-z0-9._-]")

MAX_FILE_BYTES = 4_000_000
"""Reading a file named with ``/file`` stops here; the engine's own cap then explains the rest."""


@contextmanager
def _terminal(stdin: TextIO, console: Console) -> Iterator[bool]:
    """Bracketed paste on (and control characters echoed as themselves) while the chat runs in a terminal.

    Yields whether stdin is a terminal. Everything is restored on the way out, however the chat
    ends; with piped input nothing is touched.
    """
    if not stdin.isatty():
        yield False
        return
    saved = None
    with suppress(ImportError, OSError, ValueError):
        import termios

        fd = stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~termios.ECHOCTL  # the paste markers must not show as "^[[200~"
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    console.file.write(BRACKETED_PASTE_ON)
    console.file.flush()
    try:
        yield True
    finally:
        console.file.write(BRACKETED_PASTE_OFF)
        console.file.flush()
        if saved is not None:
            with suppress(OSError, ValueError):
                import termios

                termios.tcsetattr(stdin.fileno(), termios.TCSANOW, saved)


def _as_action(message: str, buttons: tuple[Button, ...]) -> Button | None:
    """The button a one-line message names (``1``, ``done``, ``explain``), if any."""
    word = message.strip().lower()
    if "\n" in word or not buttons:
        return None
    if is_number(word):
        index = int(word)
        return buttons[index - 1] if 1 <= index <= len(buttons) else None
    action = _KEYWORDS.get(word)
    return next((b for b in buttons if b.action_id == action), None)


def _save(attachment: Attachment, out_dir: Path) -> Path:
    """Write an attachment next to the user; the name is the engine's, made safe for a path."""
    name = _SAFE_NAME.sub("_", Path(attachment.filename).name) or "nginx-triage-attachment.txt"
    path = out_dir / name
    path.write_text(attachment.content, encoding="utf-8")
    return path


def _show(reply: Reply, console: Console, out_dir: Path) -> None:
    console.rule(f"[dim]{reply.kind}[/]", style="dim")
    console.print(Markdown(reply.text))
    for attachment in reply.attachments:
        path = _save(attachment, out_dir)
        if attachment.filetype == "diff" or attachment.filename.endswith(".diff"):
            console.print(f"\n[bold]{attachment.title}[/] (saved as {path}):", soft_wrap=True)
            console.print(Syntax(attachment.content, "diff", word_wrap=True))
        else:
            console.print(f"[bold]{attachment.title}[/]: saved as {path}", soft_wrap=True)
    if reply.buttons:
        choices = "   ".join(f"[bold]{i}[/]) {b.text}" for i, b in enumerate(reply.buttons, 1))
        console.print(f"\n{choices}   [dim](type the number or the word)[/]")


def run_chat(
    kb: KnowledgeBase,
    matcher: Matcher,
    stdin: TextIO,
    console: Console,
    *,
    out_dir: Path | None = None,
    engine: ConversationEngine | None = None,
) -> int:
    """Run the conversation until end of input or ``quit``; returns the exit code (0)."""
    engine = engine or ConversationEngine(kb, matcher)
    where = out_dir or Path.cwd()
    thread = f"cli:{os.getpid()}"
    state, replies = engine.handle(None, Incoming(thread, "you", "help", surface="cli"))
    for reply in replies:
        _show(reply, console, where)
    console.print("[dim]Paste below. `quit` or end of input (Ctrl-D) leaves; `/file PATH` sends a file.[/]")
    with _terminal(stdin, console) as tty:
        reader = MessageReader(stdin, tty=tty, on_open=lambda: console.print(UNFINISHED_PASTE))
        return _loop(reader, engine, console, where, thread, state)


UNFINISHED_PASTE = (
    "[dim]That paste looks unfinished (a `{` or a code fence is still open): paste the rest, "
    "or press Enter on an empty line to send it as it is.[/]"
)


def _loop(
    reader: MessageReader,
    engine: ConversationEngine,
    console: Console,
    where: Path,
    thread: str,
    state: ConversationState,
) -> int:
    """Read, hand to the engine, show the replies; until end of input or ``quit``."""
    buttons: tuple[Button, ...] = ()
    while True:
        message = reader.read()
        if message is None or message.strip().lower() in QUIT_WORDS:
            return 0
        button = _as_action(message, buttons)
        file_cmd = _FILE_COMMAND.match(message.strip()) if "\n" not in message.strip() else None
        if button is not None:
            console.print(f"[dim]> {button.text}[/]")
            incoming = Incoming(thread, "you", surface="cli", action=button.action_id, action_value=button.value)
        elif file_cmd is not None:
            path = Path(file_cmd.group("path")).expanduser()
            try:
                with path.open("rb") as fh:
                    data = fh.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                console.print(f"[red]cannot read {path}: {exc.strerror or exc}[/]")
                continue
            text = data.decode("utf-8", "replace")
            incoming = Incoming(thread, "you", files=(IncomingFile(path.name, text),), surface="cli")
        else:
            incoming = Incoming(thread, "you", message, surface="cli")
        state, replies = engine.handle(state, incoming)
        for reply in replies:
            _show(reply, console, where)
        # A reply without buttons (a thank-you) leaves the previous choices usable.
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), buttons)
