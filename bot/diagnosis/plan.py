"""The fix plan around the recipes' changes: the diff, the commands for the user's environment
(test, apply, verify), what evidence is still missing, and an alert rule sized to the
computed ceiling. Which environment, and its commands, come from ``kb/environments``; the
words from ``kb/texts/plan.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.diagnosis.collect import Collected
from bot.diagnosis.model import Command, Need, Recommendation
from bot.diagnosis.user_values import command_values
from bot.knowledge.loader import KnowledgeBase
from bot.knowledge.templates import render_text
from bot.knowledge.texts import say
from bot.sizing import Recommendation as SizingRecommendation

if TYPE_CHECKING:
    from bot.diagnosis.edits import Edit
    from bot.evidence import NginxConfig
    from bot.knowledge.recipes_schema import Recipe
    from bot.knowledge.schema import EnvironmentEntry, ErrorEntry

DIFF_PATH = "/tmp/nginx-triage-fix.diff"
DIFF_FILE = "nginx-triage-fix.diff"
"""The attachment's name in Slack and the terminal chat."""

EXAMPLE_LIMIT = "65535"
"""The open-file limit environment commands are written with; the plan puts the computed one in."""


def detect_environment(kb: KnowledgeBase, texts: Iterable[str], runs_as: str | None = None) -> tuple[str, bool]:
    """(environment id, detected?) from substrings in the pasted evidence.

    ``runs_as`` is how nginx runs as the pasted ``systemctl status`` / ``/proc/1/cgroup`` say
    (``systemd``, ``container``, ``kubernetes``): only environments that declare it in
    ``runs_as`` remain, and with no other hint the least specific of them wins (plain Docker
    before compose). Then the most ``detect`` hits wins; on a tie the higher ``specificity``
    (a compose file also says "docker"), then the id. Nothing found: the environment marked
    ``default``.
    """
    blob = "\n".join(texts)
    envs = list(kb.environments.values())
    narrowed = [env for env in envs if runs_as and runs_as in env.runs_as]
    scores: dict[str, int] = {}
    for env in narrowed or envs:
        hits = sum(1 for needle in env.detect if needle and needle in blob)
        if hits:
            scores[env.id] = hits
    if not scores and narrowed:
        return min(narrowed, key=lambda e: (e.specificity, e.id)).id, True
    if not scores:
        default = kb.default_environment
        return (default.id if default else ""), False
    best = max(scores.values())
    tied = [kb.environments[e] for e, v in scores.items() if v == best]
    return min(tied, key=lambda e: (-e.specificity, e.id)).id, True


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
                context=say("plan.setting_context", title=env.title, directive=r.directive),
                current=r.current,
                recommended=r.recommended,
                file=None,
                line=None,
                why=say("plan.setting_why", why=r.why, key=key),
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
    command = env.commands["apply_settings"].replace("{settings_json}", payload)
    return Command(say("plan.purpose_apply_settings"), command, "apply_settings")


def missing_from_dump(config: NginxConfig) -> list[str]:
    """What keeps a pasted ``nginx -T`` from being the whole text nginx printed (empty when whole).

    nginx prints the dump only after a successful test, starting with the main file: so a real
    dump has balanced braces, every included file and an ``events {}`` block. A paste without
    them was cut (a terminal, a chat message limit, a copy of one screen).
    """
    from bot.evidence import PASTED

    missing = [str(issue) for issue in config.errors if issue.partial]
    if PASTED not in config.files and not config.find("events"):
        missing.append(say("diff.no_main_file", first=config.main_file))
    return missing


def diff_for(config: NginxConfig | None, edits: list[Edit]) -> tuple[str, str | None]:
    """(unified diff, problem) for the edits; empty diff when there is nothing to change or the dump is partial."""
    if config is None or not edits:
        return "", None
    missing = missing_from_dump(config)
    if missing:
        return "", say("diff.partial_dump", missing=missing)
    from bot.diagnosis.config_diff import make_diff

    try:
        return make_diff(config, edits), None
    except ValueError as exc:
        return "", say("plan.no_diff", error=exc)


def environment_commands(
    env: EnvironmentEntry | None,
    rec: SizingRecommendation | None,
    has_diff: bool,
    recipes: list[Recipe],
    recs: list[Recommendation] | None = None,
    *,
    nginx_changed: bool = True,
) -> list[Command]:
    """The commands of the plan in the user's environment: test, apply, verify.

    ``nginx_changed`` False (only a backend's file changes, e.g. a php-fpm pool): no test or
    reload of nginx; the recipe's own checks say how to test and restart the backend.
    """
    if env is None:
        return []
    c = env.commands
    out: list[Command] = []
    apply_settings = settings_command(env, recs or [])
    if apply_settings is not None:
        out.append(apply_settings)
    if has_diff:
        out.append(
            Command(
                say("plan.purpose_save_diff", path=DIFF_PATH, file=DIFF_FILE),
                say("plan.command_save_diff", path=DIFF_PATH),
                "save_diff",
            )
        )
        from bot.diagnosis.config_diff import apply_command

        both = apply_command(DIFF_PATH, dry_run=True) + " && " + apply_command(DIFF_PATH).removeprefix("cd / && ")
        out.append(Command(say("plan.purpose_apply_diff"), both, "apply_diff"))
    if "test_config" in c and nginx_changed:
        out.append(Command(say("plan.purpose_test_config"), c["test_config"], "test_config"))
    if rec is not None and rec.needs_restart and "raise_fd_limit" in c and apply_settings is None:
        limit = rec.recommended_limit_nofile
        cmd = c["raise_fd_limit"].strip()
        if limit:
            cmd = cmd.replace(EXAMPLE_LIMIT, str(limit))
        out.append(Command(say("plan.purpose_raise_fd_limit"), cmd, "raise_fd_limit"))
        if "restart" in c:
            out.append(Command(say("plan.purpose_restart"), c["restart"], "restart"))
    elif "reload" in c and apply_settings is None and nginx_changed:
        out.append(Command(say("plan.purpose_reload"), c["reload"], "reload"))
    verified: set[str] = set()
    for recipe in recipes:
        for verify in recipe.verify:
            if verify.command in c and verify.command not in verified:
                verified.add(verify.command)
                out.append(Command(verify.purpose, c[verify.command], verify.command))
    if "logs" in c:
        out.append(Command(say("plan.purpose_logs"), c["logs"], "logs"))
    return out


def missing_evidence(
    kb: KnowledgeBase, entries: list[ErrorEntry], ev: Collected, names: dict[str, str] | None = None
) -> list[Need]:
    """Evidence the matched entries want that was not pasted, with the command to get it
    (templated commands filled with the user's values from the entry's lines; ``names`` is
    ``pasted_names(ev)`` when the caller has it)."""
    needs: list[Need] = []
    seen: set[str] = set()
    for entry in entries:
        for need in entry.needs:
            kind = need.evidence
            if kind in seen or kind in ev.present:
                continue
            if kind == "master-limits" and "worker-limits" in ev.present:
                continue
            known = kb.evidence.get(kind)
            if known is not None and any(other in ev.present for other in known.proven_by):
                continue
            seen.add(kind)
            known = kb.evidence.get(kind)
            command = known.command if known else ""
            if known is not None and known.template:
                command = render_text(command, command_values(ev, ev.grouper.groups.get(entry.id), names))
            needs.append(Need(kind, command, need.why))
    return needs


def alert_rule(max_connections: int | None, max_proxied: int | None) -> str:
    """A Prometheus rule that fires before the computed ceiling is reached."""
    if not max_connections:
        return ""
    warn_at = int(max_connections * 0.8)
    return say("plan.alert_rule", warn_at=warn_at, max_connections=max_connections, max_proxied=max_proxied)


def reproduction(max_proxied: int | None, port_hint: str = "http://127.0.0.1:8080/slow") -> str:
    """How to reproduce the ceiling on a staging copy before and after the fix."""
    if not max_proxied:
        return ""
    over = max(10, int(max_proxied * 1.5))
    return say("plan.reproduce", requests=over * 4, concurrency=over, url=port_hint, max_proxied=max_proxied)
