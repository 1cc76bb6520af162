"""The host checks' decisions on small hand-built evidence: which mode bits apply to the
workers' user, what a socket needs, when a certificate counts as expired, which paths sit on
which mount. The real captures go through the finding cases (``kb/findings``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.diagnosis.checks import CHECKS, CheckContext
from bot.diagnosis.collect import Collected
from bot.evidence.system.model import Certificate, PathComponent, PathPermissions


def _namei(*rows: tuple[str, str, str, str], users: tuple[str, ...] = ("root", "www-data")) -> Collected:
    ev = Collected()
    ev.permissions.append(PathPermissions("/x", tuple(PathComponent(*row) for row in rows), users))
    return ev


def _permissions(ev: Collected) -> dict[str, object] | None:
    return CHECKS["path-not-searchable"](CheckContext(ev, None, {"denied": []}))


ROOT = ("drwxr-xr-x", "root", "root", "/")


@pytest.mark.parametrize(
    ("rows", "blocked", "need"),
    [
        ((ROOT, ("drwx--x---", "root", "www-data", "srv"), ("-rw-r-----", "root", "www-data", "f")), None, None),
        ((ROOT, ("drwxr-x---", "root", "adm", "srv"), ("-rw-r--r--", "root", "root", "f")), "/srv", "search"),
        ((ROOT, ("drwxrwxrwt", "root", "root", "tmp"), ("-rw-------", "root", "root", "f")), "/tmp/f", "read"),
        ((ROOT, ("drwxr-xr-T", "root", "root", "d"), ("-rw-r--r--", "root", "root", "f")), "/d", "search"),
        ((ROOT, ("drwx------", "www-data", "root", "d"), ("-r--------", "www-data", "x", "f")), None, None),
        (
            (ROOT, ("drwxr-xr-x", "root", "root", "run"), ("srw-rw----", "php", "php", "fpm.sock")),
            "/run/fpm.sock",
            "write",
        ),
        ((ROOT, ("drwxr-xr-x", "root", "root", "run"), ("srw-rw-rw-", "php", "php", "fpm.sock")), None, None),
    ],
    ids=["group-of-same-name", "dir-without-x", "file-unreadable", "sticky-without-x", "owner", "socket", "socket-ok"],
)
def test_which_component_the_worker_cannot_pass(
    rows: tuple[tuple[str, str, str, str], ...], blocked: str | None, need: str | None
) -> None:
    facts = _permissions(_namei(*rows))
    if blocked is None:
        assert facts is None
    else:
        assert facts is not None and (facts["blocked"], facts["need"], facts["user"]) == (blocked, need, "www-data")


def test_group_bits_that_would_allow_are_said() -> None:
    facts = _permissions(_namei(ROOT, ("drwxr-x---", "root", "adm", "logs"), ("-rw-r-----", "root", "adm", "f")))
    assert facts is not None and facts["group_would_allow"] is True and facts["whose"] == "other"


def test_root_workers_and_unknown_users_are_not_judged() -> None:
    rows = (ROOT, ("drwx------", "root", "root", "d"), ("-rw-------", "root", "root", "f"))
    assert _permissions(_namei(*rows, users=("root",))) is None
    assert _permissions(_namei(*rows, users=())) is None


def test_a_missing_component_is_not_a_permission_problem() -> None:
    assert _permissions(_namei(ROOT, ("", "", "", "gone", None, True))) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "fires"), [(-1, True), (-400, True), (1, False), (3650, False)])
def test_certificate_expired_against_now(days: int, fires: bool) -> None:
    now = datetime.now(UTC)
    ev = Collected()
    ev.certificates.append(Certificate("CN = a.test", now - timedelta(days=800), now + timedelta(days=days)))
    facts = CHECKS["certificate-expired"](CheckContext(ev, None, {"handshake": []}))
    assert (facts is not None) == fires


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("/run/php/php8.2-fpm.sock", "/run/php/php8.2-fpm.sock"),
        ("/srv/my site/index.html", "'/srv/my site/index.html'"),
        ("/x/it's;rm -rf", "'/x/it'\\''s;rm -rf'"),
        ("", ""),
    ],
)
def test_a_path_from_a_log_line_is_one_shell_word(path: str, word: str) -> None:
    from bot.diagnosis.user_values import _shell_word

    assert _shell_word(path) == word
