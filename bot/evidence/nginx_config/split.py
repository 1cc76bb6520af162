"""Cut an ``nginx -T`` paste into its files on the ``# configuration file PATH:`` headers.

A terminal copy carries more than the dump: the ``nginx: ... syntax is ok`` verdicts, shell
prompts, code fences and, around a bare snippet, sentences a person typed. Those go here;
nginx's own blank line after each file goes exactly once.
"""

from __future__ import annotations

import posixpath
import re

from crossplane.analyzer import DIRECTIVES as _KNOWN_DIRECTIVES

from bot.evidence.nginx_config.model import ConfigIssue
from bot.knowledge.texts import say
from bot.lazy_re import lazy_compile

_HEADER = lazy_compile(r"^# configuration file (?P<path>.+):[ \t]*$", re.MULTILINE)
# Lines a terminal copy adds around the dump: nginx's stderr verdicts, prompts, code fences.
_NOISE = lazy_compile(
    r"""^\s*(?:
        nginx:\ .*
      | ```.*
      | \$\ .*
      | sudo\ .*
      | [\w.-]+@[\w.-]+(?::[^\s]*)?\s*[$#](?:\s.*)?
      | \[[\w.-]+@[\w.-]+[^\]]*\][$#](?:\s.*)?
    )$""",
    re.VERBOSE,
)
# Control bytes (tab and newline excepted) and U+FFFD mean a line came from a binary file.


def _is_prose(line: str) -> bool:
    """A line a person typed around a snippet: its first word is no directive nginx knows."""
    stripped = line.strip()
    if not stripped or stripped[0] in "#}{":
        return False
    word = re.split(r"[\s;{]", stripped, maxsplit=1)[0]
    return word not in _KNOWN_DIRECTIVES


def strip_noise(lines: list[str], *, leading: bool, prose: bool) -> list[str]:
    """Drop prompts, ``nginx: ...`` verdicts and code fences (and, optionally, prose) at the edges.

    Trailing blank lines go only together with noise: the last blank line of a dump is
    nginx's own and is removed later, exactly once.
    """
    start, end = 0, len(lines)
    if leading:
        while start < end and (
            not lines[start].strip() or _NOISE.match(lines[start]) or (prose and _is_prose(lines[start]))
        ):
            start += 1
    cut = end
    while cut > start and (
        not lines[cut - 1].strip() or _NOISE.match(lines[cut - 1]) or (prose and _is_prose(lines[cut - 1]))
    ):
        cut -= 1
    if any(lines[i].strip() for i in range(cut, end)):
        return [*lines[start:cut], "", ""]
    return lines[start:end]


MAX_PATH_CHARS = 1024
"""Longer pasted file names are shortened (Linux's PATH_MAX is 4096, real ones are short)."""
MAX_PATH_LEVELS = 64
"""Deeper pasted paths are shortened too (a 1,100-level path is damage, not a config)."""
_KEEP = 200
_KEEP_LEVELS = 16


def clean_path(path: str) -> tuple[str, bool]:
    """A header's path normalised (``a//b/../c/`` -> ``a/c``) and bounded; True when shortened."""
    path = path.strip()
    if path.startswith("/"):
        path = posixpath.normpath(path)
        path = "/" + path.lstrip("/")  # normpath keeps a leading "//"
    if len(path) <= MAX_PATH_CHARS and path.count("/") <= MAX_PATH_LEVELS:
        return path, False
    head, _, name = path.rpartition("/")
    return "/".join(head.split("/")[:_KEEP_LEVELS])[:_KEEP] + "/.../" + name[-_KEEP:], True


def split_dump(text: str) -> tuple[dict[str, str], list[ConfigIssue]]:
    """Cut the dump into files on its headers. Empty dict when there are no headers."""
    headers = list(_HEADER.finditer(text))
    files: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for i, m in enumerate(headers):
        path, shortened = clean_path(m.group("path"))
        if shortened:
            issues.append(
                ConfigIssue(say("evidence.path_too_long", limit=MAX_PATH_CHARS, levels=MAX_PATH_LEVELS), path)
            )
        start = m.end() + 1
        last = i + 1 == len(headers)
        block = text[start:] if last else text[start : headers[i + 1].start()]
        if last:
            block = "\n".join(strip_noise(block.split("\n"), leading=False, prose=False))
        # nginx writes one newline after each file's content: remove exactly that one.
        if block.endswith("\n"):
            block = block[:-1]
        if path in files:
            issues.append(ConfigIssue(say("evidence.file_twice", path=path), path, None))
            continue
        files[path] = block
    return files, issues
