"""The fix plan: directive edits with file and line, a diff, the commands for the user's
environment (test, reload or restart, verify), what evidence is still missing, and an
alert rule sized to the computed ceiling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from bot.diagnosis.collect import Collected
from bot.diagnosis.config_diff import Edit, apply_command, make_diff
from bot.diagnosis.model import Command, Need, Recommendation
from bot.evidence import Directive, NginxConfig
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.schema import EnvironmentEntry, ErrorEntry
from bot.sizing import Recommendation as SizingRecommendation

ENV_PREFERENCE = (
    "kubernetes-ingress-nginx",
    "official-nginx-image",
    "docker-compose",
    "docker",
    "plain-host",
    "systemd-host",
)
"""On a tie, the more specific environment wins (a compose file also says "docker")."""

DEFAULT_ENVIRONMENT = "systemd-host"

DIFF_PATH = "/tmp/nginx-triage-fix.diff"

SIZING_ENTRIES = frozenset(
    {
        "worker-connections-not-enough",
        "too-many-open-files",
        "worker-connections-exceed-rlimit",
        "setrlimit-failed",
        "rlimit-nofile-notice",
    }
)
"""Entries whose fix is a sizing change; only these produce directive recommendations."""


def detect_environment(kb: KnowledgeBase, texts: Iterable[str]) -> tuple[str, bool]:
    """(environment id, detected?) from substrings in the pasted evidence."""
    blob = "\n".join(texts)
    scores: dict[str, int] = {}
    for env in kb.environments.values():
        hits = sum(1 for needle in env.detect if needle and needle in blob)
        if hits:
            scores[env.id] = hits
    if not scores:
        return DEFAULT_ENVIRONMENT, False
    best = max(scores.values())
    ranked = [e for e in ENV_PREFERENCE if scores.get(e) == best] or sorted(k for k, v in scores.items() if v == best)
    return ranked[0], True


def _events_file(config: NginxConfig) -> str:
    for d in config.directives:
        if d.name == "events":
            return d.file
    return config.main_file


def _edit_for(
    config: NginxConfig, directive: Directive | None, name: str, value: int, block: str | None, why: str
) -> tuple[Edit, Recommendation]:
    current = " ".join(directive.args) if directive else None
    file = directive.file if directive else (_events_file(config) if block == "events" else config.main_file)
    line = directive.line if directive else None
    edit = Edit(file=file, line=line, directive=name, new_args=(str(value),), context_block=block, why=why)
    rec = Recommendation(
        directive=name, context=block or "main", current=current, recommended=str(value), file=file, line=line, why=why
    )
    return edit, rec


def directive_changes(
    config: NginxConfig | None, rec: SizingRecommendation | None, matched: set[str]
) -> tuple[list[Recommendation], list[Edit]]:
    """The directives to change, with their file and line when the config was pasted."""
    if rec is None or not (matched & SIZING_ENTRIES):
        return [], []
    recs: list[Recommendation] = []
    edits: list[Edit] = []
    wc_why = (
        f"carries {rec.target.value} concurrent requests on the busiest worker with headroom"
        if rec.target.value
        else "the current value ran out; sized up with headroom"
    )
    changes: list[tuple[str, int | None, int | None, str | None, str]] = [
        ("worker_connections", rec.worker_connections_current, rec.recommended_worker_connections, "events", wc_why),
        (
            "worker_rlimit_nofile",
            rec.worker_rlimit_nofile_current,
            rec.recommended_worker_rlimit_nofile,
            None,
            "each worker's open-file limit: at least worker_connections (nginx checks 1x), 2x leaves room for "
            "files, logs and temp files",
        ),
    ]
    if rec.recommended_worker_processes is not None and rec.worker_processes_reason:
        changes.append(
            (
                "worker_processes",
                rec.workers_current,
                rec.recommended_worker_processes,
                None,
                rec.worker_processes_reason,
            )
        )
    inherited = rec.capacity_before.fd_limit_per_worker if rec.worker_rlimit_nofile_current is None else None
    for name, current, wanted, block, why in changes:
        if wanted is None or wanted == current:
            continue
        if name == "worker_rlimit_nofile" and inherited is not None and inherited >= wanted:
            continue  # workers already inherit enough; pinning a lower value would cut their limit
        if config is not None:
            directive = {
                "worker_connections": config.worker_connections,
                "worker_rlimit_nofile": config.worker_rlimit_nofile,
                "worker_processes": config.worker_processes,
            }[name]
            edit, recommendation = _edit_for(config, directive, name, wanted, block, why)
            edits.append(edit)
            recs.append(recommendation)
        else:
            recs.append(
                Recommendation(name, block or "main", str(current) if current else None, str(wanted), None, None, why)
            )
    return recs, edits


def as_settings(env: EnvironmentEntry | None, recs: list[Recommendation]) -> list[Recommendation]:
    """Where nginx.conf is generated (ingress-nginx), name the setting to change instead."""
    if env is None or not env.settings:
        return recs
    out = []
    for r in recs:
        key = env.settings.get(r.directive)
        if key is None:
            out.append(r)
            continue
        out.append(
            Recommendation(
                directive=key,
                context=f"{env.title} setting (renders `{r.directive}`)",
                current=r.current,
                recommended=r.recommended,
                file=None,
                line=None,
                why=f"{r.why}; nginx.conf is generated here, so set {key} rather than editing the file",
            )
        )
    return out


def settings_command(env: EnvironmentEntry | None, recs: list[Recommendation]) -> Command | None:
    """The one command that applies every changed setting (e.g. a ConfigMap patch)."""
    if env is None or not env.settings or "apply_settings" not in env.commands:
        return None
    keys = set(env.settings.values())
    data = {r.directive: r.recommended for r in recs if r.directive in keys}
    if not data:
        return None
    payload = json.dumps({"data": data}, separators=(",", ":"))
    return Command(
        "apply the new settings (the controller reloads nginx by itself)",
        env.commands["apply_settings"].replace("{settings_json}", payload),
    )


def diff_for(config: NginxConfig | None, edits: list[Edit]) -> tuple[str, str | None]:
    """(unified diff, problem) for the edits; empty diff when there is nothing to change."""
    if config is None or not edits:
        return "", None
    try:
        return make_diff(config, edits), None
    except ValueError as exc:
        return "", f"could not build a diff: {exc}"


def environment_commands(
    env: EnvironmentEntry | None,
    rec: SizingRecommendation | None,
    has_diff: bool,
    matched: set[str],
    recs: list[Recommendation] | None = None,
) -> list[Command]:
    """Test, apply (reload or restart), and verify, in the user's environment."""
    if env is None:
        return []
    c = env.commands
    out: list[Command] = []
    apply_settings = settings_command(env, recs or [])
    if apply_settings is not None:
        out.append(apply_settings)
    if has_diff:
        saved = DIFF_PATH
        out.append(
            Command(
                f"save the diff on the server as {saved} (in Slack it is the attached "
                "nginx-triage-fix.diff; from the command line, the same diagnose run with --format diff)",
                f"nginx-triage diagnose --format diff FILES... > {saved}",
            )
        )
        out.append(
            Command(
                "apply it (dry run first; run as root)",
                apply_command(saved, dry_run=True) + " && " + apply_command(saved).removeprefix("cd / && "),
            )
        )
    if "test_config" in c:
        out.append(Command("test the changed configuration", c["test_config"]))
    sizing = bool(matched & SIZING_ENTRIES)
    if rec is not None and rec.needs_restart and "raise_fd_limit" in c and apply_settings is None:
        limit = rec.recommended_limit_nofile
        cmd = c["raise_fd_limit"].strip()
        if limit:
            cmd = cmd.replace("65535", str(limit))
        out.append(Command("raise the master's open-file limit (needs a restart, a reload keeps the old master)", cmd))
        if "restart" in c:
            out.append(Command("restart nginx", c["restart"]))
    elif "reload" in c and apply_settings is None:
        out.append(Command("reload: new workers start with the new values, old ones drain", c["reload"]))
    if sizing:
        for key, purpose in (
            ("worker_pids", "verify: the new workers are running"),
            ("worker_limits", "verify: a new worker's open-file limit"),
        ):
            if key in c:
                out.append(Command(purpose, c[key]))
    if "logs" in c:
        out.append(Command("verify: the alert stops appearing in the error log", c["logs"]))
    return out


def missing_evidence(kb: KnowledgeBase, entries: list[ErrorEntry], ev: Collected) -> list[Need]:
    """Evidence the matched entries want that was not pasted, with the command to get it."""
    needs: list[Need] = []
    seen: set[str] = set()
    for entry in entries:
        for need in entry.needs:
            kind = need.evidence
            if kind in seen or kind in ev.present:
                continue
            if kind == "master-limits" and "worker-limits" in ev.present:
                continue
            seen.add(kind)
            known = kb.evidence.get(kind)
            needs.append(Need(kind, known.command if known else "", need.why))
    return needs


def alert_rule(max_connections: int | None, max_proxied: int | None) -> str:
    """A Prometheus rule that fires before the computed ceiling is reached."""
    if not max_connections:
        return ""
    warn_at = int(max_connections * 0.8)
    proxied = f" (about {max_proxied} proxied requests)" if max_proxied else ""
    return (
        "groups:\n"
        "  - name: nginx-capacity\n"
        "    rules:\n"
        "      - alert: NginxConnectionsNearCeiling\n"
        f"        expr: sum by (instance) (nginx_connections_active) > {warn_at}\n"
        "        for: 2m\n"
        "        labels: {severity: warning}\n"
        "        annotations:\n"
        f'          summary: "nginx holds more than 80% of its {max_connections} connection slots{proxied}"\n'
        '          description: "nginx_connections_active comes from nginx-prometheus-exporter (stub_status). '
        'Slots are per worker and traffic is uneven: the busiest worker fills first."\n'
    )


def reproduction(max_proxied: int | None, port_hint: str = "http://127.0.0.1:8080/slow") -> str:
    """How to reproduce the ceiling on a staging copy before and after the fix."""
    if not max_proxied:
        return ""
    over = max(10, int(max_proxied * 1.5))
    return (
        f"On a staging copy with a slow upstream (e.g. one that answers after 1 s): "
        f"`ab -n {over * 4} -c {over} {port_hint}` exceeds the computed ceiling of about {max_proxied} "
        "concurrent proxied requests, so the alert appears before the fix and not after it."
    )
