"""The ``nginx-triage`` command line: the engine's offline front door.

Exit codes are a contract (DESIGN.md): 0 ok, 1 input that could not be used (with a
one-line reason on stderr), 2 usage; and 3 for an internal error (a fault of ours, never of
the input), so scripts and the fuzz job can tell the two apart. Nothing a user types or
pastes may end in a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, BinaryIO, NoReturn

import typer
from rich.console import Console

from bot.evidence import InputError, iter_lines_binary, open_input
from bot.knowledge.loader import KnowledgeBase
from bot.matching import Matcher

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn pasted NGINX error-log lines into a tailored fix.",
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect and check the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
store_app = typer.Typer(help="Manage what the Slack bot stored.", no_args_is_help=True)
app.add_typer(store_app, name="store")

NoRedact = Annotated[
    bool,
    typer.Option("--no-redact", help="Read secrets in the input as they are (by default they are masked first)."),
]

EXIT_INTERNAL = 3
"""Exit code of an internal error: distinct from 1 (input that could not be used) and 2 (usage)."""

PROGRESS_MIN_BYTES = 4 << 20
"""Show a progress bar on a terminal for inputs bigger than this."""


class DiagnoseFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"
    diff = "diff"


class MatchFormat(str, Enum):
    jsonl = "jsonl"
    text = "text"


class AskFormat(str, Enum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit."""
    Console(stderr=True, highlight=False).print(f"[bold red]nginx-triage:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _load() -> tuple[KnowledgeBase, Matcher]:
    """Load the KB and build the matcher, turning KB errors into a clear failure."""
    from bot.knowledge.loader import KnowledgeBaseError, load_kb

    try:
        kb = load_kb()
    except KnowledgeBaseError as exc:
        _fail(str(exc))
    return kb, Matcher(kb)


def _input_lines(files: list[Path] | None, show_progress: bool) -> Iterator[str]:
    """Lines from every file in order, or stdin; streamed and bounded."""
    sources = files or [Path("-")]
    for path in sources:
        if str(path) == "-":
            if sys.stdin.isatty() and not files:
                raise InputError(
                    "no input: pass a log file, or pipe lines in, e.g. `tail -n 500 error.log | nginx-triage diagnose`"
                )
            yield from iter_lines_binary(sys.stdin.buffer, "stdin")
            continue
        stream, size = open_input(path)
        with stream:
            if show_progress and size > PROGRESS_MIN_BYTES and sys.stderr.isatty():
                yield from _with_progress(stream, size, path)
            else:
                yield from iter_lines_binary(stream, str(path))


def _with_progress(stream: BinaryIO, size: int, path: Path) -> Iterator[str]:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(f"reading {path.name}", total=size)
        advance: Callable[[int], None] = lambda n: progress.advance(task, n)  # noqa: E731
        yield from iter_lines_binary(stream, str(path), on_bytes=advance)


@app.command()
def diagnose(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Error logs, `nginx -T` dumps, /proc/PID/limits, ... (any mix); stdin when none or '-'."),
    ] = None,
    fmt: Annotated[DiagnoseFormat, typer.Option("--format", "-f", help="Output format.")] = DiagnoseFormat.text,
    target_concurrency: Annotated[
        int | None, typer.Option("--target-concurrency", min=1, help="Peak concurrent requests the fix must carry.")
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            "-e",
            help=(
                "systemd-host, docker, docker-compose, kubernetes-ingress-nginx, official-nginx-image, "
                "plain-host (default: detected)."
            ),
        ),
    ] = None,
    no_redact: NoRedact = False,
) -> None:
    """Explain NGINX errors and say how to fix them."""
    from bot.cli.intake import collect
    from bot.cli.redacting import IntakeRedaction
    from bot.diagnosis import diagnose_evidence

    kb, matcher = _load()
    if environment is not None and environment not in kb.environments:
        _fail(f"unknown environment {environment!r}; one of: {', '.join(sorted(kb.environments))}", 2)
    redaction = IntakeRedaction(enabled=not no_redact)
    try:
        evidence = collect(files, matcher, _progress_hook if fmt is DiagnoseFormat.text else None, redaction)
    except InputError as exc:
        _fail(str(exc))
    diagnosis = diagnose_evidence(evidence, kb, target_concurrency, environment)
    if fmt is not DiagnoseFormat.json and redaction.masked:
        sys.stderr.write(redaction.note() + "\n")
    if fmt is DiagnoseFormat.json:
        from bot.cli.catalog_report import unmatched_details

        out = diagnosis.to_json()
        out["unmatched"] = unmatched_details(diagnosis.unmatched_samples, matcher)
        out["redacted"] = redaction.to_json()
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    elif fmt is DiagnoseFormat.markdown:
        from bot.render import render_markdown

        sys.stdout.write(render_markdown(diagnosis))
    elif fmt is DiagnoseFormat.diff:
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

        console = Console(highlight=False)
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
        console=Console(stderr=True),
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


@app.command()
def match(
    files: Annotated[list[Path] | None, typer.Argument(help="Log files; stdin when none or '-'.")] = None,
    fmt: Annotated[MatchFormat, typer.Option("--format", "-f")] = MatchFormat.jsonl,
    no_redact: NoRedact = False,
) -> None:
    """Match each input line against the knowledge base: one result per line."""
    from bot.cli.catalog_report import catalog_json
    from bot.cli.redacting import IntakeRedaction

    _kb, matcher = _load()
    out = sys.stdout
    redaction = IntakeRedaction(enabled=not no_redact)
    try:
        lines = redaction.lines(_input_lines(files, False))
        for no, (line, m) in enumerate(matcher.match_lines(lines), 1):
            if fmt is MatchFormat.jsonl:
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


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about NGINX errors, in your words.")],
    fmt: Annotated[AskFormat, typer.Option("--format", "-f")] = AskFormat.text,
) -> None:
    """Answer a question from the FAQ, or list the closest questions."""
    from dataclasses import asdict

    from bot.faq.answer import FaqIndex

    if not question.strip():
        _fail('empty question; ask e.g. `nginx-triage ask "why does a proxied request use two connections"`', 2)
    kb, matcher = _load()
    answer = FaqIndex(kb, matcher).ask(question)
    if fmt is AskFormat.json:
        sys.stdout.write(json.dumps(asdict(answer), indent=2) + "\n")
        return
    console = Console(highlight=False)
    if answer.declined:
        from bot.knowledge.texts import say

        console.print(say("faq.declined"), markup=False)
        return
    if answer.confident and answer.answer:
        from rich.markdown import Markdown

        console.print(f"[bold]{answer.question}[/]")
        console.print(Markdown(answer.answer))
    else:
        console.print("I am not sure which question you mean. Closest:")
    for alt in answer.alternatives:
        console.print(f'  - {alt.question}  [dim]nginx-triage ask "{alt.question}"[/]')


@app.command()
def chat() -> None:
    """The Slack conversation in the terminal: paste, answer, walk through the fix."""
    from bot.cli.chat import run_chat

    kb, matcher = _load()
    raise typer.Exit(run_chat(kb, matcher, sys.stdin, Console(highlight=False)))


@app.command()
def serve(
    port: Annotated[
        int,
        typer.Option(
            "--port",
            "-p",
            min=1,
            max=65535,
            envvar="PORT",
            help="HTTP port (events at /slack/events, plus /healthz, /readyz, /metrics); also $PORT.",
        ),
    ] = 3000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """The Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on --port."""
    from bot.slack.serve import serve as run_serve

    raise typer.Exit(run_serve(port, host))


@store_app.command("purge")
def store_purge(
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, help="Delete what is older than this (default: $NGINX_TRIAGE_RETENTION_DAYS, 30)."
        ),
    ] = None,
) -> None:
    """Delete stored conversations, feedback and unmatched lines older than the retention (DATABASE_URL)."""
    from bot.cli.store_purge import purge_command

    raise typer.Exit(purge_command(days))


@kb_app.command("lint")
def kb_lint() -> None:
    """Validate every KB file, run each entry's examples and near misses, time every regex."""
    from bot.cli.kb_lint import lint

    kb, matcher = _load()
    problems = lint(kb, matcher)
    console = Console(highlight=False)
    if problems:
        for p in problems:
            console.print(p, soft_wrap=True, markup=False)
        _fail(f"{len(problems)} problem(s) in the knowledge base")
    console.print(f"ok: {len(kb.errors)} errors, {len(kb.faqs)} FAQs, {len(kb.environments)} environments")


class StatsFormat(str, Enum):
    text = "text"
    json = "json"


@kb_app.command("stats")
def kb_stats(
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="text or json.")] = StatsFormat.text,
) -> None:
    """How many NGINX catalogue messages the curated KB entries explain."""
    from bot.cli.catalog_report import stats_command

    _kb, matcher = _load()
    raise typer.Exit(stats_command(fmt.value, matcher))


@kb_app.command("catalog")
def kb_catalog(
    source: Annotated[Path, typer.Argument(help="nginx source tree (the directory holding src/).")],
    release: Annotated[str, typer.Option("--release", help="Release tag of that tree, e.g. release-1.31.4.")],
    commit: Annotated[str, typer.Option("--commit", help="Commit id of that tag.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default: kb/catalog).")] = None,
) -> None:
    """Regenerate the NGINX message catalogue (kb/catalog) from an nginx source tree."""
    from bot.cli.catalog_report import build_command

    raise typer.Exit(build_command(source, release, commit, out))


class GapsFormat(str, Enum):
    text = "text"
    json = "json"


@kb_app.command("gaps")
def kb_gaps(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many line shapes to show.")] = 50,
    fmt: Annotated[GapsFormat, typer.Option("--format", "-f", help="text or json.")] = GapsFormat.text,
) -> None:
    """Log lines nothing in the KB matched, most frequent first (the queue for new entries)."""
    from bot.cli.gaps import gaps_command

    raise typer.Exit(gaps_command(limit, fmt.value))


@kb_app.command("list")
def kb_list() -> None:
    """List the known errors and FAQs."""
    kb, _ = _load()
    console = Console(highlight=False)
    for e in sorted(kb.errors.values(), key=lambda e: e.id):
        console.print(f"{e.id:40} {e.severity:9} {e.title}", markup=False)
    for f in sorted(kb.faqs.values(), key=lambda f: f.id):
        console.print(f"faq/{f.id:36} {f.question}", markup=False)


def main() -> None:
    """Console-script entry; turns any unexpected failure into one line (debug: NGINX_TRIAGE_DEBUG=1)."""
    try:
        app()
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


def _where(exc: BaseException) -> str:
    """``module.py:line`` of the innermost frame in our code: enough to report, never the input's text."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bot/" in f.filename.replace(os.sep, "/")]
    last = frames[-1] if frames else None
    return "unknown" if last is None else f"{last.filename.replace(os.sep, '/').rsplit('/bot/', 1)[-1]}:{last.lineno}"
