"""A fix recipe added as YAML only (no Python) goes through the real parts: a real nginx
reproduces the alert, `nginx-triage diagnose` (with the recipe in KB_EXTRA_DIR) builds the
diff, the real `patch -p0` applies it, `nginx -t` accepts it, and the alert is gone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.nginx_harness import NGINX
from tests.integration.test_real_nginx_fix import SLOTS_CONF, _reproduce_diagnose_fix
from tests.unit.test_kb_homes import kb_with_events_recipe

REQUIRE = os.environ.get("NGINX_TRIAGE_REQUIRE_NGINX") == "1"
if NGINX is None or shutil.which("patch") is None:
    if REQUIRE:
        raise RuntimeError("CI requires a real nginx and patch (apt-get install nginx patch)")
    pytestmark = pytest.mark.skip(reason="needs a real nginx and patch: `make deps` as root installs them")
elif os.geteuid() != 0 and not REQUIRE:
    pytestmark = pytest.mark.skip(reason="the real-nginx fix tests patch files and reload nginx as root")


def test_yaml_only_recipe_lands_in_the_real_config(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KB_EXTRA_DIR", str(kb_with_events_recipe(tmp_path)))
    diagnosis = _reproduce_diagnose_fix(
        cli, tmp_path, SLOTS_CONF, "worker_connections are not enough", "worker-connections-not-enough", set()
    )
    recs = {r["directive"]: r for r in diagnosis["recommendations"]}
    assert recs["multi_accept"]["recommended"] == "on" and recs["multi_accept"]["context"] == "events"
    conf = recs["multi_accept"]["file"]
    text = Path(conf).read_text(encoding="utf-8")
    events = text[text.index("events {") : text.index("}", text.index("events {"))]
    assert "multi_accept on;" in events and "worker_connections " in events
