"""The ``nginx-triage`` command line: the engine's offline front door.

Exit codes are a contract (DESIGN.md): 0 ok, 1 input that could not be used (with a
one-line reason on stderr), 2 usage; and 3 for an internal error (a fault of ours, never of
the input), so scripts and the fuzz job can tell the two apart. Nothing a user types or
pastes may end in a traceback.

Start-up is part of the product: a two-line ``diagnose`` must answer in a blink, so this
module imports only the standard library at the top. ``argparse`` parses (typer, click and
rich cost more than the whole diagnosis of a short paste), each command imports what it
uses when it runs, and the KB comes from the compiled cache (``bot.knowledge.kb_cache``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from bot.knowledge.loader import KnowledgeBase
    from bot.matching import Matcher

EXIT_INTERNAL = 3
"""Exit code of an internal error: distinct from 1 (input that could not be used) and 2 (usage)."""

PROGRESS_MIN_BYTES = 4 << 20
"""Show a progress bar on a terminal for inputs bigger than this."""


class CliExit(Exception):
    """Leave with ``code`` (raised by commands; ``main`` turns it into the exit status)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit."""
    sys.stderr.write(f"nginx-triage: {message}\n")
    raise CliExit(code)


def _console(stderr: bool = False) -> Any:
    """A rich console for the human-readable formats (imported only when one is printed)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _load(*, from_source: bool = False) -> tuple[KnowledgeBase, Matcher]:
    """Load the KB (from the compiled cache unless ``from_source``) and build the matcher,
    turning KB errors into a clear failure."""
    from bot.knowledge.kb_cache import cached_kb
    from bot.knowledge.loader import KnowledgeBaseError, load_kb
    from bot.matching import Matcher

    try:
        kb = load_kb() if from_source else cached_kb()
    except KnowledgeBaseError as exc:
        _fail(str(exc))
    return kb, Matcher(kb)


def _input_lines(files: list[Path] | None) -> Iterator[str]:
    """Lines from every file in order, or stdin; streamed and bounded."""
    from bot.evidence import InputError, iter_lines_binary, open_input

    sources = files or [Path("-")]
    for path in sources:
        if str(path) == "-":
            if sys.stdin.isatty() and not files:
                raise InputError(
                    "no input: pass a log file, or pipe lines in, e.g. `tail -n 500 error.log | nginx-triage diagnose`"
                )
            yield from iter_lines_binary(sys.stdin.buffer, "stdin")
            continue
        stream, _size = open_input(path)
        with stream:
            yield from iter_lines_binary(stream, str(path))


def diagnose(
    files: list[Path] | None, fmt: str, target_concurrency: int | None, environment: str | None, no_redact: bool
) -> None:
    """Explain NGINX errors and say how to fix them."""
    from bot.cli.intake import collect
    from bot.cli.redacting import IntakeRedaction
    from bot.diagnosis import diagnose_evidence
    from bot.evidence import InputError

    kb, matcher = _load()
    if environment is not None and environment not in kb.environments:
        _fail(f"unknown environment {environment!r}; one of: {', '.join(sorted(kb.environments))}", 2)
    redaction = IntakeRedaction(enabled=not no_redact)
    try:
        evidence = collect(files, matcher, _progress_hook if fmt == "text" else None, redaction)
    except InputError as exc:
        _fail(str(exc))
    diagnosis = diagnose_evidence(evidence, kb, target_concurrency, environment)
    if fmt != "json" and redaction.masked:
        sys.stderr.write(redaction.note() + "\n")
    if fmt == "json":
        import json

        from bot.cli.catalog_report import unmatched_details

        out = diagnosis.to_json()
        out["unmatched"] = unmatched_details(diagnosis.unmatched_samples, matcher)
        out["redacted"] = redaction.to_json()
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    elif fmt == "markdown":
        from bot.render import render_markdown

        sys.stdout.write(render_markdown(diagnosis))
    elif fmt == "diff":
        if not diagnosis.diff:
            settings = [c.command for c in diagnosis.commands if "settings" in c.purpose]
            if settings:
                _fail(
                    f"no diff: nginx.conf is generated in {diagnosis.environment.get('title')}; "
                    f"change its settings instead: {settings[0]}"
                )
            if "nginx-T" not in diagnosis.evidence:
                _fail(
                    "no diff: paste the output of `sudo nginx -T` along with the log, "
                    "so the fix can name files and lines"
                )
            _fail("no diff: nothing in the configuration needs to change for these errors")
        sys.stdout.write(diagnosis.diff)
    else:
        from bot.cli.catalog_report import print_known_messages
        from bot.render import render_text

        console = _console()
        for part in render_text(diagnosis):
            console.print(part.body, soft_wrap=part.soft_wrap)
        print_known_messages(diagnosis.unmatched_samples, matcher, console)


def _progress_hook(path: Path, size: int) -> Callable[[int], None] | None:
    """A progress callback on a terminal for big inputs (None when not worth showing)."""
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=_console(stderr=True),
        transient=True,
    )
    task = progress.add_task(f"reading {path.name}", total=size)
    progress.start()
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        progress.advance(task, n)
        if done[0] >= size:
            progress.stop()

    return advance


def match(files: list[Path] | None, fmt: str, no_redact: bool) -> None:
    """Match each input line against the knowledge base: one result per line."""
    import json

    from bot.cli.catalog_report import catalog_json
    from bot.cli.redacting import IntakeRedaction
    from bot.evidence import InputError

    _kb, matcher = _load()
    out = sys.stdout
    redaction = IntakeRedaction(enabled=not no_redact)
    try:
        lines = redaction.lines(_input_lines(files))
        for no, (line, m) in enumerate(matcher.match_lines(lines), 1):
            if fmt == "jsonl":
                row = {
                    "line_no": no,
                    "kb_id": m.kb_id if m else None,
                    "score": m.score if m else 0.0,
                    "method": m.method if m else None,
                    "facts": m.facts if m else {},
                    "catalog": catalog_json(line.raw, matcher) if m is None and line.raw.strip() else None,
                }
                out.write(json.dumps(row) + "\n")
            else:
                out.write(f"{no}\t{m.kb_id if m else '-'}\t{m.score if m else 0:.2f}\t{line.raw[:100]}\n")
    except InputError as exc:
        _fail(str(exc))
    if redaction.masked:
        sys.stderr.write(redaction.note() + "\n")


def ask(question: str, fmt: str) -> None:
    """Answer a question from the FAQ, or list the closest questions."""
    from dataclasses import asdict

    from bot.faq.answer import FaqIndex

    if not question.strip():
        _fail('empty question; ask e.g. `nginx-triage ask "why does a proxied request use two connections"`', 2)
    kb, matcher = _load()
    answer = FaqIndex(kb, matcher).ask(question)
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(asdict(answer), indent=2) + "\n")
        return
    if not sys.stdout.isatty():
        sys.stdout.write(_plain_answer(answer))
        return
    console = _console()
    if answer.declined:
        from bot.knowledge.texts import say

        console.print(say("faq.declined"), markup=False)
        return
    if answer.confident and answer.answer:
        from rich.markdown import Markdown

        console.print(f"[bold]{answer.question}[/]")
        console.print(Markdown(answer.answer))
    else:
        console.print(_UNSURE)
    for alt in answer.alternatives:
        console.print(f'  - {alt.question}  [dim]nginx-triage ask "{alt.question}"[/]')


_UNSURE = "I am not sure which question you mean. Closest:"
"""``ask``'s heading over the closest questions when none is a confident match (terminal and pipe)."""


def _plain_answer(answer: Any) -> str:
    """``ask``'s answer for a pipe or a file: the Markdown as written, no terminal layout (no
    padding to the width, no wrapping mid-sentence), and no rich to import for it."""
    if answer.declined:
        from bot.knowledge.texts import say

        return say("faq.declined").rstrip("\n") + "\n"
    out = []
    if answer.confident and answer.answer:
        out += [f"# {answer.question}", "", answer.answer.strip(), ""]
    else:
        out.append(_UNSURE)
    if answer.alternatives:
        if answer.confident:
            out.append("Related:")
        out += [f'  - {alt.question}  nginx-triage ask "{alt.question}"' for alt in answer.alternatives]
    return "\n".join(out).rstrip("\n") + "\n"


def chat() -> int:
    """The Slack conversation in the terminal: paste, answer, walk through the fix."""
    from bot.cli.chat import run_chat

    kb, matcher = _load()
    return run_chat(kb, matcher, sys.stdin, _console())


def serve(port: int, host: str) -> int:
    """The Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on --port."""
    from bot.slack.serve import serve as run_serve

    return run_serve(port, host)


def store_purge(days: int | None) -> int:
    """Delete stored conversations, feedback and unmatched lines older than the retention (DATABASE_URL)."""
    from bot.cli.store_purge import purge_command

    return purge_command(days)


def kb_lint() -> None:
    """Validate every KB file, run each entry's examples and near misses, time every regex."""
    from bot.cli.kb_lint import lint

    kb, matcher = _load(from_source=True)
    problems = lint(kb, matcher)
    console = _console()
    if problems:
        for p in problems:
            console.print(p, soft_wrap=True, markup=False)
        _fail(f"{len(problems)} problem(s) in the knowledge base")
    console.print(f"ok: {len(kb.errors)} errors, {len(kb.faqs)} FAQs, {len(kb.environments)} environments")


def kb_stats(fmt: str) -> int:
    """How many NGINX catalogue messages the curated KB entries explain."""
    from bot.cli.catalog_report import stats_command

    _kb, matcher = _load()
    return stats_command(fmt, matcher)


def kb_list() -> None:
    """List the known errors and FAQs."""
    kb, _ = _load()
    console = _console()
    for e in sorted(kb.errors.values(), key=lambda e: e.id):
        console.print(f"{e.id:40} {e.severity:9} {e.title}", markup=False)
    for f in sorted(kb.faqs.values(), key=lambda f: f.id):
        console.print(f"faq/{f.id:36} {f.question}", markup=False)


def _dispatch(opts: argparse.Namespace) -> int:
    """Run the command ``opts`` names; its exit code."""
    cmd = opts.command
    if cmd == "diagnose":
        diagnose(opts.files or None, opts.format, opts.target_concurrency, opts.environment, opts.no_redact)
    elif cmd == "match":
        match(opts.files or None, opts.format, opts.no_redact)
    elif cmd == "ask":
        ask(opts.question, opts.format)
    elif cmd == "chat":
        return chat()
    elif cmd == "serve":
        return serve(opts.port, opts.host)
    elif cmd == "doctor":
        from bot.cli.doctor import doctor

        return doctor(opts.format)
    elif cmd == "store":
        return store_purge(opts.days)
    elif opts.kb_command == "lint":
        kb_lint()
    elif opts.kb_command == "stats":
        return kb_stats(opts.format)
    elif opts.kb_command == "catalog":
        from bot.cli.catalog_report import build_command

        return build_command(opts.source, opts.release, opts.commit, opts.out)
    elif opts.kb_command == "gaps":
        from bot.cli.gaps import gaps_command

        return gaps_command(opts.limit, opts.format)
    else:
        kb_list()
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console-script entry; turns any unexpected failure into one line (debug: NGINX_TRIAGE_DEBUG=1)."""
    from bot.cli.args import build_parser

    args = sys.argv[1:] if argv is None else argv
    parser = build_parser(args)
    if not args:  # `nginx-triage` alone: the commands, as --help shows them (a usage error)
        parser.print_help()
        sys.exit(2)
    try:
        code = _dispatch(parser.parse_args(args))
    except CliExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        sys.stderr.write("nginx-triage: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        # `nginx-triage ... | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # the last line of defence against a traceback
        if os.environ.get("NGINX_TRIAGE_DEBUG"):
            raise
        sys.stderr.write(
            f"nginx-triage: internal error: {type(exc).__name__} at {_where(exc)} "
            "(set NGINX_TRIAGE_DEBUG=1 for the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if argv is None:
        _skip_final_collection()
    sys.exit(code)


def _skip_final_collection() -> None:
    """The command is done and the process is about to end: spare it the garbage collection
    the interpreter runs over every object at exit (the KB, the modules; about 7% of a short
    ``diagnose``). ``gc.freeze`` only exempts what exists now from collection; everything is
    still released when the process ends, and exit handlers still run. Only for the console
    script itself (``argv`` not passed): a caller running ``main`` in its own process keeps
    its collector whole."""
    import gc

    gc.freeze()


def _where(exc: BaseException) -> str:
    """``module.py:line`` of the innermost frame in our code: enough to report, never the input's text."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bot/" in f.filename.replace(os.sep, "/")]
    last = frames[-1] if frames else None
    return "unknown" if last is None else f"{last.filename.replace(os.sep, '/').rsplit('/bot/', 1)[-1]}:{last.lineno}"
