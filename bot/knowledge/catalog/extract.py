"""Extract every message nginx can log at ``warn`` and above from its C source tree.

A record is one logging call: its format string (string macros such as
``ngx_open_file_n`` resolved), level, the function it sits in, the module its file
defines, the directives it concerns (the directive whose handler logs it, and directive
names quoted in the text), and ``file:line``. Calls whose format is not a literal (a
variable, a computed string) cannot be matched and are counted, not recorded.

The logging functions and where their level and format arguments are:
``ngx_log_error(level, log, err, fmt, ...)``, ``ngx_conf_log_error(level, cf, err, fmt,
...)`` (nginx adds `` in FILE:LINE``), ``ngx_ssl_error(level, log, err, fmt, ...)`` (adds
`` (SSL: ...)``), ``ngx_log_stderr(err, fmt, ...)`` (console, no level),
``ngx_log_abort(err, fmt, ...)`` (alert), ``ngx_connection_error(c, err, text)`` and
``ngx_ssl_connection_error(c, sslerr, err, text)`` (level chosen from the errno at run
time), ``ngx_slab_error(pool, level, text)``. ``ngx_log_debugN`` calls are recognised so
that they are skipped, never mistaken for a message.

Directive handlers also report errors by returning a string (``return "is duplicate";``)
that ``ngx_conf_handler()`` logs as ``"%s" directive %s`` at emerg: for a handler of known
directives each becomes ``"name" directive text``, for a shared one ``"%s" directive text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.catalog.csource import Call, SourceFile, resolve_formats, scan_file, string_macros
from bot.lazy_re import lazy_compile


@dataclass(frozen=True)
class CallShape:
    """Where a logging function takes its level and its format."""

    fmt_arg: int
    level_arg: int | None = None
    level: str | None = None  # fixed level when level_arg is None


CALLS: dict[str, CallShape] = {
    "ngx_log_error": CallShape(fmt_arg=3, level_arg=0),
    "ngx_conf_log_error": CallShape(fmt_arg=3, level_arg=0),
    "ngx_ssl_error": CallShape(fmt_arg=3, level_arg=0),
    "ngx_log_stderr": CallShape(fmt_arg=1, level="stderr"),
    "ngx_log_abort": CallShape(fmt_arg=1, level="alert"),
    "ngx_connection_error": CallShape(fmt_arg=2, level="runtime"),
    "ngx_ssl_connection_error": CallShape(fmt_arg=3, level="runtime"),
    "ngx_slab_error": CallShape(fmt_arg=2, level_arg=1),
    **{f"ngx_log_debug{n}": CallShape(fmt_arg=3, level="debug") for n in range(9)},
}

LEVEL_NAMES = {
    "NGX_LOG_STDERR": "stderr",
    "NGX_LOG_EMERG": "emerg",
    "NGX_LOG_ALERT": "alert",
    "NGX_LOG_CRIT": "crit",
    "NGX_LOG_ERR": "error",
    "NGX_LOG_WARN": "warn",
    "NGX_LOG_NOTICE": "notice",
    "NGX_LOG_INFO": "info",
    "NGX_LOG_DEBUG": "debug",
}

KEPT_LEVELS = ("emerg", "alert", "crit", "error", "warn", "runtime", "stderr")
"""``warn`` and above, plus ``runtime`` (level picked at run time, e.g. from the errno or a
``*_log_level`` directive, so it can be ``warn`` or above) and ``stderr`` (console lines
that ``ngx_log_stderr`` prints with no level)."""

SKIPPED_DIRS = ("src/os/win32",)
"""Windows-only code: its string macros (``CreateFile()``) would shadow the Unix ones."""

_QUOTED_NAME = lazy_compile(r'"([a-z][a-z0-9_]{1,63})(?=["\s])')
_SNAKE_WORD = lazy_compile(r"(?<![\w%])([a-z][a-z0-9]{0,30}_[a-z0-9_]{1,40})(?!\w)")
_CONF_FUNCTION = lazy_compile(r"_(?:init|merge|create)_\w{0,40}conf$|_postconfiguration$|_init_module$")
"""Functions nginx runs while it reads a configuration, though they take no ``ngx_conf_t``."""
_CONSOLE_LEVEL = lazy_compile(r"^\[(emerg|alert|crit|error|warn|notice|info)\]:? ")


@dataclass
class Record:
    """One logging call that prints a fixed message."""

    format: str
    level: str
    call: str
    file: str
    line: int
    function: str | None
    module: str
    config: bool
    directives: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON shape (key order fixed: the committed data must diff cleanly)."""
        return {
            "format": self.format,
            "level": self.level,
            "call": self.call,
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "module": self.module,
            "config": self.config,
            "directives": self.directives,
        }


@dataclass
class Extraction:
    """Everything read from one source tree."""

    records: list[Record]
    directives: dict[str, list[str]]  # directive -> modules that define it
    skipped: int  # logging calls at warn or above whose format is not a literal


def _level(call: Call, shape: CallShape) -> str:
    if shape.level_arg is None:
        return shape.level or "runtime"
    if shape.level_arg >= len(call.args):
        return "runtime"
    arg = call.args[shape.level_arg]
    if len(arg) == 1 and arg[0].text in LEVEL_NAMES:
        return LEVEL_NAMES[arg[0].text]
    return "runtime"


def _area(path: str) -> str:
    """``src/http/v2/x.c`` -> ``http/v2``: the source area, for shared code with no module."""
    parts = path.split("/")[1:-1]
    return "/".join(parts) if parts else "core"


def _module_of(source: SourceFile) -> str:
    stem = Path(source.path).stem
    if not source.modules:
        return _area(source.path)
    for candidate in (stem, f"{stem}_module"):
        if candidate in source.modules:
            return candidate
    return source.modules[0]


def _directives(fmt: str, own: list[str], known: dict[str, list[str]]) -> list[str]:
    """The handler's own directives, plus directive names the text quotes or spells out."""
    found = list(own)
    for name in [*_QUOTED_NAME.findall(fmt), *_SNAKE_WORD.findall(fmt)]:
        if name in known and name not in found:
            found.append(name)
    return sorted(found)


def _record(
    call: Call,
    level: str,
    fmt: str,
    path: str,
    module: str,
    handlers: dict[str, list[str]],
    known: dict[str, list[str]],
) -> Record | None:
    if level == "stderr" and (m := _CONSOLE_LEVEL.match(fmt)):
        level, fmt = m.group(1), fmt[m.end() :]
    if level not in KEPT_LEVELS:
        return None
    return Record(
        format=fmt,
        level=level,
        call=call.name,
        file=path,
        line=call.line,
        function=call.function,
        module=module,
        config=call.name == "ngx_conf_log_error"
        or call.function_takes_conf
        or bool(_CONF_FUNCTION.search(call.function or "")),
        directives=_directives(fmt, handlers.get(call.function or "", []), known),
    )


def _returned(source: SourceFile, module: str, handlers: dict[str, list[str]]) -> list[Record]:
    """Records for strings directive handlers return (logged by ngx_conf_handler at emerg)."""
    out = []
    for function, text, line in source.returns:
        names = handlers.get(function) or ["%s"]
        for name in names:
            out.append(
                Record(
                    format=f'"{name}" directive {text}',
                    level="emerg",
                    call="return",
                    file=source.path,
                    line=line,
                    function=function,
                    module=module,
                    config=True,
                    directives=[] if name == "%s" else [name],
                )
            )
    return out


def read_tree(root: Path) -> list[tuple[str, str]]:
    """``(repo-relative path, text)`` of every ``.c`` and ``.h`` file under ``root/src``, sorted."""
    out = []
    for path in sorted((root / "src").rglob("*")):
        if path.suffix not in (".c", ".h") or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel.startswith(SKIPPED_DIRS):
            continue
        out.append((rel, path.read_text(encoding="utf-8", errors="replace")))
    return out


def extract(files: Iterable[tuple[str, str]]) -> Extraction:
    """Records of every message at ``warn`` and above in ``files`` (path, text)."""
    files = list(files)
    macros: dict[str, str] = {}
    for _path, text in files:
        for name, value in string_macros(text).items():
            macros.setdefault(name, value)
    names = frozenset(CALLS)
    scanned = [scan_file(path, text, names) for path, text in files if path.endswith(".c")]
    directive_modules: dict[str, list[str]] = {}
    for source in scanned:
        module = _module_of(source)
        for directive, _handler in source.commands:
            mods = directive_modules.setdefault(directive, [])
            if module not in mods:
                mods.append(module)
    records: list[Record] = []
    skipped = 0
    for source in scanned:
        handlers: dict[str, list[str]] = {}
        for directive, handler in source.commands:
            if handler is not None and handler in source.functions:
                handlers.setdefault(handler, []).append(directive)
        module = _module_of(source)
        for call in source.calls:
            shape = CALLS[call.name]
            level = _level(call, shape)
            if level not in KEPT_LEVELS:
                continue
            formats = resolve_formats(call.args[shape.fmt_arg], macros) if shape.fmt_arg < len(call.args) else []
            if not formats:
                skipped += 1
            for fmt in formats:
                record = _record(call, level, fmt, source.path, module, handlers, directive_modules)
                if record is not None:
                    records.append(record)
        records.extend(_returned(source, module, handlers))
    records.sort(key=lambda r: (r.file, r.line, r.format))
    return Extraction(records, {k: directive_modules[k] for k in sorted(directive_modules)}, skipped)
