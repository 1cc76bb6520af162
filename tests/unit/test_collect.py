"""Collecting: every section of a paste lands in the field of ``Collected`` that keeps it."""

from __future__ import annotations

from bot.diagnosis.collect import Collected
from tests.conftest import DATA


def test_bare_config_without_headers_is_read_as_config(matcher):
    for name in ("lone-server.txt", "lone-nginx-conf.txt"):
        ev = Collected()
        ev.add_text((DATA / "nginx-T" / name).read_text(), matcher)
        assert ev.config is not None and ev.config.directives, name
        assert "nginx-T" in ev.present
        assert ev.grouper.unmatched == 0


def test_prose_is_counted_unmatched_not_config(matcher):
    ev = Collected()
    ev.add_text("the site is down since the deploy\nplease help\nthanks", matcher)
    assert ev.config is None
    assert ev.grouper.unmatched == 3


def test_limits_role_from_the_command_and_from_worker_rlimit(matcher):
    table = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 524288               files     \n"
    )
    ev = Collected()
    ev.add_text("$ cat /proc/$(cat /run/nginx.pid)/limits\n" + table, matcher)
    assert ev.limits_role(ev.limits[0])[0] == "master"
    assert ev.worker_limits is None and ev.master_limits is not None
    ev = Collected()
    ev.add_text("# configuration file /etc/nginx/nginx.conf:\nworker_rlimit_nofile 1024;\nevents {\n}\n\n", matcher)
    ev.add_text("$ cat /proc/4242/limits\n" + table.replace("524288", "1024  "), matcher)
    assert ev.limits_role(ev.limits[0])[0] == "worker"
