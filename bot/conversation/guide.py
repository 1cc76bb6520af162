"""Guided mode: the fix as numbered steps, and the checks that pasted output must pass.

A junior on call should not have to read a diagnosis and decide the order of things. The
steps are always the same five kinds in the same order (check, change, test, reload or
restart, verify), so step numbers stay stable while the thread gathers evidence; their
content is rebuilt from the current ``Diagnosis`` on every turn.

The checks read pasted output with the same sniffer and parsers as the diagnosis; they
never trust a "looks fine": a limits table must be a worker's, not the master's, and show
at least the open-file limit the fix sized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.conversation.model import GuideStep
from bot.conversation.texts import DIFF_FILE, change_line, first_sentences, plural
from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Command, Diagnosis
from bot.evidence import ConfigParseError, parse_dump, sniff
from bot.knowledge.loader import KnowledgeBase
from bot.matching.matcher import Matcher

StepKind = Literal["check", "change", "test", "reload", "verify"]
STEP_KINDS: tuple[StepKind, ...] = ("check", "change", "test", "reload", "verify")

DECISIVE_EVIDENCE = ("nginx-T", "worker-limits")
"""Evidence without which the fix cannot name lines or trust the limits; the check step asks for it first."""

_SIZED_DIRECTIVES = ("worker_connections", "worker_rlimit_nofile", "worker_processes")


@dataclass(frozen=True)
class Verdict:
    """What the pasted output showed for one step."""

    passed: bool
    text: str


def _command(d: Diagnosis, *prefixes: str) -> Command | None:
    for prefix in prefixes:
        for c in d.commands:
            if c.purpose.startswith(prefix):
                return c
    return None


def restart_needed(d: Diagnosis) -> bool:
    """Whether the master's limit must change (a reload keeps the old master)."""
    return any(f.id == "restart-needed" for f in d.findings)


def required_kinds(d: Diagnosis) -> list[str]:
    """The evidence the check step asks for: the decisive kinds still missing (others only sharpen)."""
    missing = {n.evidence for n in d.needs}
    return [k for k in DECISIVE_EVIDENCE if k in missing]


def required_fd(d: Diagnosis) -> int | None:
    """The open-file limit a new worker must show: the recommended worker_rlimit_nofile, else worker_connections."""
    for rec in d.recommendations:
        if rec.directive in ("worker_rlimit_nofile", "max-worker-open-files") and rec.recommended.isdigit():
            return int(rec.recommended)
    after = d.capacity.get("after_fix") or {}
    wc = after.get("worker_connections") or d.capacity.get("worker_connections")
    return int(wc) if isinstance(wc, int) else None


# --- building the steps ------------------------------------------------------------------


def _check_step(d: Diagnosis) -> tuple[str, str, str | None, str | None]:
    kinds = required_kinds(d)
    if kinds:
        needs = [n for n in d.needs if n.evidence in kinds]
        body = "Run these read-only commands on the server and paste what they print:\n" + "\n".join(
            f"- **{n.evidence}**: `{n.command}` ({n.why})" for n in needs
        )
        command = "; ".join(n.command for n in needs if n.command) or None
        return "Gather the missing evidence", body, command, "the output of " + " and ".join(kinds)
    show = _command(d, "the values that set the capacity", "whether worker_rlimit_nofile")
    body = (
        "I have what I need. Read the current values so you know what you are changing "
        "(nothing here changes the server)."
    )
    if d.recommendations:
        body += "\n" + "\n".join(f"- {change_line(r)}" for r in d.recommendations)
    return "Read the current values", body, show.command if show else None, None


def _change_step(d: Diagnosis) -> tuple[str, str, str | None, str | None]:
    recs = d.recommendations
    if not recs:
        top = d.matches[0] if d.matches else None
        body = first_sentences(top.fix, 900) if top else "Nothing in the configuration needs to change."
        return "Make the change", body, None, None
    lines = [f"- {change_line(r)}: {r.why}" for r in recs]
    body = "Change:\n" + "\n".join(lines)
    settings = _command(d, "apply the new settings")
    apply = _command(d, "apply it")
    command: str | None = None
    if settings is not None:
        body += "\n\nApply them with the command below; the controller reloads nginx by itself."
        command = settings.command
    elif d.diff:
        body += (
            f"\n\nThe diff is attached as `{DIFF_FILE}`. Save it on the server as "
            f"`/tmp/{DIFF_FILE}`, then apply it (dry run first):"
        )
        command = apply.command if apply else None
    elif any(r.file is None for r in recs):
        body += "\n\nPaste `sudo nginx -T 2>&1` and I will name the file and line of each."
    return "Make the change", body, command, "`nginx -T` showing the new values (optional)"


def _test_step(d: Diagnosis) -> tuple[str, str, str | None, str | None]:
    test = _command(d, "test the changed configuration")
    body = "Test the configuration before nginx uses it; a broken file stops a restart cold."
    return (
        "Test the configuration",
        body,
        test.command if test else "sudo nginx -t",
        "`syntax is ok` and `test is successful`",
    )


def _reload_step(d: Diagnosis) -> tuple[str, str, str | None, str | None]:
    if restart_needed(d):
        raise_limit = _command(d, "raise the master's open-file limit")
        restart = _command(d, "restart nginx")
        body = (
            "**Restart**, not reload: the fix raises the master's open-file limit, and a reload keeps the "
            "old master with its old limit."
        )
        if raise_limit is not None:
            body += f"\n\nRaise the limit:\n```\n{raise_limit.command.strip()}\n```"
        return "Restart nginx", body, restart.command if restart else None, "no errors"
    reload = _command(d, "reload")
    if reload is None:
        return (
            "Let the change apply",
            "In this environment nginx picks up the change by itself; nothing to run.",
            None,
            None,
        )
    return (
        "Reload nginx",
        "Reload: new workers start with the new values while old ones finish their requests.",
        reload.command,
        "no errors",
    )


def _verify_step(d: Diagnosis) -> tuple[str, str, str | None, str | None]:
    fd = required_fd(d)
    checks = [c for c in d.commands if c.purpose.startswith("verify")]
    body = "Check that new workers run with the new limits and that the alert stopped:\n" + "\n".join(
        f"- {c.purpose.removeprefix('verify: ')}: `{c.command}`" for c in checks
    )
    limits = _command(d, "verify: a new worker's open-file limit")
    command = limits.command if limits else "cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits"
    expect = (
        f"a new worker's `Max open files` of at least {fd}" if fd else "new worker pids"
    ) + ", or `ps` output showing new workers"
    return "Verify the fix", body, command, expect


_BUILDERS = {
    "check": _check_step,
    "change": _change_step,
    "test": _test_step,
    "reload": _reload_step,
    "verify": _verify_step,
}


def build_steps(d: Diagnosis) -> list[GuideStep]:
    """The five numbered steps for this diagnosis."""
    steps = []
    for number, kind in enumerate(STEP_KINDS, 1):
        title, body, command, expect = _BUILDERS[kind](d)
        steps.append(GuideStep(number, len(STEP_KINDS), kind, title, body, command, expect))
    return steps


# --- checking pasted output --------------------------------------------------------------


def _failure_explained(text: str, kb: KnowledgeBase, matcher: Matcher) -> str:
    """Why nginx complained: the KB entry each error line matches, with its fix."""
    ev = Collected()
    ev.add_text(text, matcher, "output")
    d = diagnose_evidence(ev, kb)
    if not d.matches:
        lines = [ln for ln in text.splitlines() if "emerg" in ln or "failed" in ln or "error" in ln.lower()]
        return "nginx reported:\n```\n" + "\n".join(lines[:5]) + "\n```" if lines else ""
    parts = []
    for m in d.matches[:2]:
        parts.append(
            f"**{m.title}**\n```\n{m.samples[0] if m.samples else ''}\n```\n"
            f"{first_sentences(m.meaning, 300)}\n\n**Fix:** {first_sentences(m.fix, 500)}"
        )
    return "\n\n".join(parts)


def check_test_output(text: str, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """`nginx -t` must say both `syntax is ok` and `test is successful`."""
    low = text.lower()
    if "test failed" in low or "[emerg]" in low:
        why = _failure_explained(text, kb, matcher)
        return Verdict(
            False,
            "The configuration test **failed**, so do not reload yet: nginx would keep the old "
            "configuration (or, on a restart, not start at all).\n\n"
            + why
            + "\n\nFix it, run the test again and paste the new output.",
        )
    ok, success = "syntax is ok" in low, "test is successful" in low
    if ok and success:
        return Verdict(True, "The test passed: `syntax is ok` and `test is successful`.")
    if ok or success:
        return Verdict(
            False,
            "I see only half of the verdict; paste the whole output of the test "
            "(`sudo nginx -t 2>&1`): it must say `syntax is ok` and `test is successful`.",
        )
    return Verdict(
        False,
        "That is not `nginx -t` output. Run `sudo nginx -t 2>&1` and paste what it prints; "
        "it must say `syntax is ok` and `test is successful`.",
    )


def check_reload_output(text: str, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """A reload or restart prints little; any failure in what was pasted fails the step."""
    low = text.lower()
    if any(word in low for word in ("[emerg]", "failed", "job for nginx", "[alert]", "inactive (dead)")):
        why = _failure_explained(text, kb, matcher)
        return Verdict(False, "That did not work: nginx or the service manager reported an error.\n\n" + why)
    return Verdict(True, "No errors in what you pasted.")


def check_change_output(text: str, d: Diagnosis) -> Verdict:
    """A fresh `nginx -T` must show every sized directive at its recommended value."""
    if not any(s.kind == "nginx-T" for s in sniff(text)):
        return Verdict(False, "To check the change, paste `sudo nginx -T 2>&1` (or just press Done).")
    try:
        config = parse_dump(text)
    except ConfigParseError as exc:
        return Verdict(False, f"I could not read that `nginx -T`: {exc}")
    wrong = []
    for rec in d.recommendations:
        if rec.directive not in _SIZED_DIRECTIVES:
            continue
        directive = getattr(config, rec.directive)
        now = " ".join(directive.args) if directive else "unset"
        if now != rec.recommended:
            wrong.append(f"`{rec.directive}` is {now}, not {rec.recommended}")
    if wrong:
        return Verdict(False, "Not changed yet: " + "; ".join(wrong) + ".")
    return Verdict(True, "The configuration now has the new values.")


def check_verify_output(text: str, d: Diagnosis, kb: KnowledgeBase, matcher: Matcher) -> Verdict:
    """A worker's (not the master's) limits at least the sized value, or ps with new workers."""
    ev = Collected()
    ev.add_text(text, matcher, "output")
    fd = required_fd(d)
    old_pids = {pid for m in d.matches for pid in m.workers}
    problems: list[str] = []
    good: list[str] = []
    for paste in ev.limits:
        role, why = ev.limits_role(paste)
        soft = paste.limits.nofile_soft
        pid = paste.limits.pid
        if role == "master":
            problems.append(
                f"These are the master's limits ({why}); the master never applies "
                "worker_rlimit_nofile. Read a new worker's: "
                "`cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits`."
            )
        elif pid is not None and str(pid) in old_pids:
            problems.append(
                f"pid {pid} is the worker that logged the alert: it is an old worker. "
                "Reload or restart first, then read a new one (`pgrep -nf`)."
            )
        elif soft is None:
            problems.append("The table has no `Max open files` row.")
        elif fd is not None and soft < fd:
            problems.append(
                f"`Max open files` is {soft}, below the {fd} the fix needs: this worker still runs "
                "with the old limit (the reload or restart did not apply it, or it is an old worker "
                "still shutting down)."
            )
        else:
            good.append(f"a worker's `Max open files` is {soft}" + (f" (>= {fd})" if fd else ""))
    workers = [p for p in ev.processes if p.role == "worker"]
    if workers:
        draining = [p for p in workers if "shutting down" in p.cmd]
        fresh = [p for p in workers if p not in draining and str(p.pid) not in old_pids]
        stale = [p for p in workers if p not in draining and str(p.pid) in old_pids]
        if stale:
            problems.append(
                f"{plural(len(stale), 'worker')} ({', '.join(str(p.pid) for p in stale)}) logged the "
                "alert before: they were not replaced. Reload or restart, then check again."
            )
        elif fresh:
            good.append(f"{plural(len(fresh), 'new worker')} running ({', '.join(str(p.pid) for p in fresh[:8])})")
        if draining:
            good.append(
                f"{plural(len(draining), 'old worker')} still shutting down with the old limits "
                "(they exit when their connections close)"
            )
    alerts = sum(
        ev.grouper.groups[m.kb_id].count
        for m in d.matches
        if m.kb_id in ev.grouper.groups and m.severity in ("critical", "high")
    )
    if alerts:
        problems.append(
            f"The log you pasted still has {plural(alerts, 'alert line')}; check their times are "
            "after the reload. If they are, paste them and I will look again."
        )
    elif "error-log" in ev.present and ev.grouper.lines:
        good.append("the alert is gone from the log you pasted")
    if problems:
        return Verdict(False, "\n".join(f"- {p}" for p in problems))
    if not good:
        expect = f"a new worker's limits (at least {fd} open files)" if fd else "a new worker's limits"
        return Verdict(
            False,
            f"I could not find {expect} or `ps` output in that. Run "
            "`cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits` and paste it.",
        )
    return Verdict(True, "Verified: " + "; ".join(good) + ".")


# --- explaining --------------------------------------------------------------------------


def explain_step(step: GuideStep, d: Diagnosis) -> str:
    """Why this step, with the sizing arithmetic and the findings behind it."""
    parts: list[str] = [f"**Why step {step.number} ({step.title.lower()})**"]
    if step.kind == "check":
        parts.append(
            "The fix depends on numbers only the server knows: the configured values (with their "
            "file and line) and the open-file limit a worker really got."
        )
        parts += [f"- **{n.evidence}**: {n.why}" for n in d.needs]
    elif step.kind == "change":
        parts += [f"- `{r.directive}`: {r.why}" for r in d.recommendations]
        parts += [f"- {line}" for line in d.sizing_explain]
        if not d.recommendations and d.matches:
            parts.append(first_sentences(d.matches[0].meaning, 800))
    elif step.kind == "test":
        parts.append(
            "`nginx -t` parses every file the way a start would. A reload with a broken file is "
            "refused (the old configuration keeps running); a restart with one leaves nginx down."
        )
    elif step.kind == "reload":
        restart = [f for f in d.findings if f.id in ("restart-needed", "setrlimit-not-permitted")]
        if restart:
            parts += [f.message for f in restart]
        else:
            parts.append(
                "A reload re-reads the configuration and starts new workers with the new values; old "
                "workers finish their requests with the old ones. worker_rlimit_nofile is applied by "
                "each new worker itself, so a reload is enough when the master's limit does not change."
            )
    else:
        parts.append(
            "The master's limits (pid file, `pgrep -o`, MainPID) never show worker_rlimit_nofile: "
            "read a worker's. Right after a reload, old workers still show the old limits until they exit."
        )
        parts += [f.message for f in d.findings if f.id in ("limits-read-from-master", "old-workers-keep-limits")]
    matched = {m.kb_id for m in d.matches}
    others = [f for f in d.findings if f.id not in matched and f.message not in parts]
    if others:
        parts.append("**Findings**\n" + "\n".join(f"- `{f.id}`: {f.message}" for f in others))
    return "\n\n".join(parts)
