"""The command line's grammar: every command, option and its help, for ``argparse``.

``argparse`` is in the standard library and costs about a millisecond to import; the
commands themselves live in ``bot.cli.app``. Usage errors exit 2 with the usage line
(DESIGN.md exit codes).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, set up when it first formats something.

    argparse makes a formatter for every ``add_argument`` only to check the metavar, which
    needs no set-up, and ``HelpFormatter.__init__`` imports ``shutil`` (with bz2, lzma and
    zlib: ~2 ms of every start-up) to ask the terminal's width. Deferred, a command line
    that parses never imports it; help and usage errors get the same width as before.
    """

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        self.__dict__["_deferred"] = (prog, indent_increment, max_help_position, width)

    def __getattr__(self, name: str) -> Any:
        deferred = self.__dict__.pop("_deferred", None)
        if deferred is None:
            raise AttributeError(name)
        super().__init__(*deferred)
        return getattr(self, name)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (and its subcommands' parsers) with the deferred ``_Formatter``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(formatter_class=_Formatter, **kwargs)


def _at_least_one(value: str) -> int:
    """A whole number >= 1 (``--days``, ``--limit``, ``--target-concurrency``)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not in the range x>=1")
    return n


def _port(value: str) -> int:
    n = _at_least_one(value)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"{n} is not in the range 1<=x<=65535")
    return n


def _env_port() -> int:
    """``$PORT`` when set (as the platform gives it), else 3000."""
    raw = os.environ.get("PORT", "")
    try:
        return _port(raw) if raw else 3000
    except argparse.ArgumentTypeError:
        return 3000


def _no_redact(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-redact",
        action="store_true",
        help="Read secrets in the input as they are (by default they are masked first).",
    )


def _format(p: argparse.ArgumentParser, choices: tuple[str, ...], help_text: str = "Output format.") -> None:
    p.add_argument("--format", "-f", choices=choices, default=choices[0], help=help_text)


def _diagnose(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("diagnose", help="Explain NGINX errors and say how to fix them.")
    p.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILES",
        help="Error logs, `nginx -T` dumps, /proc/PID/limits, ... (any mix); stdin when none or '-'.",
    )
    _format(p, ("text", "markdown", "json", "diff"))
    p.add_argument("--target-concurrency", type=_at_least_one, help="Peak concurrent requests the fix must carry.")
    p.add_argument(
        "--environment",
        "-e",
        help="systemd-host, docker, docker-compose, kubernetes-ingress-nginx, official-nginx-image, "
        "plain-host (default: detected).",
    )
    _no_redact(p)


def _match(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("match", help="Match each input line against the knowledge base: one result per line.")
    p.add_argument("files", nargs="*", type=Path, metavar="FILES", help="Log files; stdin when none or '-'.")
    _format(p, ("jsonl", "text"))
    _no_redact(p)


def _ask(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("ask", help="Answer a question from the FAQ, or list the closest questions.")
    p.add_argument("question", help="A question about NGINX errors, in your words.")
    _format(p, ("text", "json"))


def _chat(sub: argparse._SubParsersAction[_Parser]) -> None:
    sub.add_parser("chat", help="The Slack conversation in the terminal: paste, answer, walk through the fix.")


def _serve(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("serve", help="The Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on --port.")
    p.add_argument(
        "--port",
        "-p",
        type=_port,
        default=_env_port(),
        help="HTTP port (events at /slack/events, plus /healthz, /readyz, /metrics); also $PORT.",
    )
    p.add_argument("--host", default="0.0.0.0", help="Address to listen on.")


def _doctor(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("doctor", help="Check the installation: accelerator, KB cache, versions.")
    _format(p, ("text", "json"))


def _store(sub: argparse._SubParsersAction[_Parser]) -> None:
    store = sub.add_parser("store", help="Manage what the Slack bot stored.")
    store_sub = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    p = store_sub.add_parser(
        "purge",
        help="Delete stored conversations, feedback and unmatched lines older than the retention (DATABASE_URL).",
    )
    p.add_argument(
        "--days",
        type=_at_least_one,
        help="Delete what is older than this (default: $NGINX_TRIAGE_RETENTION_DAYS, 30).",
    )


def _kb(sub: argparse._SubParsersAction[_Parser]) -> None:
    kb = sub.add_parser("kb", help="Inspect and check the knowledge base.")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="COMMAND", required=True)
    kb_sub.add_parser(
        "lint", help="Validate every KB file, run each entry's examples and near misses, time every regex."
    )
    p = kb_sub.add_parser("stats", help="How many NGINX catalogue messages the curated KB entries explain.")
    _format(p, ("text", "json"), "text or json.")
    p = kb_sub.add_parser(
        "catalog", help="Regenerate the NGINX message catalogue (kb/catalog) from an nginx source tree."
    )
    p.add_argument("source", type=Path, help="nginx source tree (the directory holding src/).")
    p.add_argument("--release", required=True, help="Release tag of that tree, e.g. release-1.31.4.")
    p.add_argument("--commit", required=True, help="Commit id of that tag.")
    p.add_argument("--out", type=Path, help="Output directory (default: kb/catalog).")
    p = kb_sub.add_parser(
        "gaps", help="Log lines nothing in the KB matched, most frequent first (the queue for new entries)."
    )
    p.add_argument("--limit", "-n", type=_at_least_one, default=50, help="How many line shapes to show.")
    _format(p, ("text", "json"), "text or json.")
    kb_sub.add_parser("list", help="List the known errors and FAQs.")


_COMMANDS: dict[str, Callable[[argparse._SubParsersAction[_Parser]], None]] = {
    "diagnose": _diagnose,
    "match": _match,
    "ask": _ask,
    "chat": _chat,
    "serve": _serve,
    "doctor": _doctor,
    "store": _store,
    "kb": _kb,
}
"""Each command's grammar, in the order ``--help`` lists them."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``nginx-triage`` grammar; when ``argv`` starts with a command, that command's alone.

    Building every command's parser costs milliseconds of each start-up; a command line
    that names its command parses, fails and prints help exactly as with the whole grammar
    (its own parser's usage and errors), while anything else (no command, ``--help``, an
    unknown one) gets the whole grammar, so the list of commands is always complete.
    """
    parser = _Parser(prog="nginx-triage", description="Turn pasted NGINX error-log lines into a tailored fix.")
    # prog given: argparse would format the usage to work it out (and set up a formatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, prog="nginx-triage")
    named = argv[0] if argv else None
    for name, add in _COMMANDS.items():
        if named not in _COMMANDS or name == named:
            add(sub)
    return parser
