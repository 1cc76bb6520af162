"""The fix plan speaks the user's environment: systemd drop-ins and restarts, Docker
--ulimit, ingress-nginx ConfigMap keys instead of a diff of a generated nginx.conf."""

from __future__ import annotations

from bot.diagnosis.build import diagnose_evidence
from bot.diagnosis.collect import Collected
from bot.diagnosis.plan import detect_environment
from bot.knowledge.loader import KnowledgeBase

CONF = """# configuration file /etc/nginx/nginx.conf:
worker_processes 2;
worker_rlimit_nofile 65535;
events {
    worker_connections 1024;
}
http {
    server {
        listen 80;
        location / { proxy_pass http://10.0.0.9:8080; }
    }
}

"""
ALERT = (
    "2024/03/02 10:11:12 [alert] 2719#2719: *51 1024 worker_connections are not enough while connecting "
    'to upstream, client: 10.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: "http://10.0.0.9:8080/"\n'
)
SETRLIMIT = (
    "2024/03/02 10:11:00 [alert] 2719#2719: setrlimit(RLIMIT_NOFILE, 65535) failed (1: Operation not permitted)\n"
)
LIMITS = (
    "$ cat /proc/$(pgrep -nf '[n]ginx: worker process')/limits\n"
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max open files            1024                 4096                 files     \n"
)


def diagnose(kb, matcher, *pastes, environment=None, target=4000):
    ev = Collected()
    for paste in pastes:
        ev.add_text(paste, matcher)
    return diagnose_evidence(ev, kb, target, environment)


def test_detection_prefers_the_specific_environment(kb):
    assert (
        detect_environment(kb, ["kubectl -n ingress-nginx logs deploy/ingress-nginx-controller"])[0]
        == "kubernetes-ingress-nginx"
    )
    assert detect_environment(kb, ["docker compose logs nginx", "nginx-1  | 2024/01/01 ..."])[0] == "docker-compose"
    assert detect_environment(kb, ["Loaded: loaded (/lib/systemd/system/nginx.service; enabled)"])[0] == "systemd-host"
    assert detect_environment(kb, ["nothing telling"]) == ("systemd-host", False)


def test_systemd_restart_when_the_master_limit_must_rise(kb, matcher):
    d = diagnose(kb, matcher, SETRLIMIT + ALERT, CONF, LIMITS, environment="systemd-host")
    text = "\n".join(c.command for c in d.commands)
    assert "systemctl edit nginx" in text and "systemctl restart nginx" in text
    assert "restart-needed" in {f.id for f in d.findings}
    assert d.diff.startswith("--- etc/nginx/nginx.conf")


def test_docker_uses_ulimit(kb, matcher):
    d = diagnose(kb, matcher, SETRLIMIT + ALERT, CONF, LIMITS, environment="docker")
    text = "\n".join(c.command for c in d.commands)
    assert "--ulimit nofile=" in text and "docker exec <container> nginx -t" in text


def test_ingress_nginx_gets_configmap_keys_not_a_diff(kb, matcher):
    d = diagnose(kb, matcher, "$ kubectl -n ingress-nginx logs deploy/ingress-nginx-controller\n" + ALERT, CONF)
    assert d.environment["id"] == "kubernetes-ingress-nginx"
    assert d.diff == ""
    keys = {r.directive for r in d.recommendations}
    assert "max-worker-connections" in keys
    patch = [c.command for c in d.commands if "patch configmap" in c.command]
    assert patch and '"max-worker-connections":"' in patch[0]
    assert d.capacity["after_fix"]["worker_connections"] > 1024


def test_cli_diff_for_ingress_names_the_settings_command(tmp_path):
    import subprocess

    from tests.conftest import ROOT

    paste = tmp_path / "paste.txt"
    paste.write_text("$ kubectl -n ingress-nginx logs deploy/ingress-nginx-controller\n" + ALERT + "\n" + CONF)
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "nginx-triage"),
            "diagnose",
            "--format",
            "diff",
            "--target-concurrency",
            "4000",
            str(paste),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "patch configmap" in proc.stderr and "max-worker-connections" in proc.stderr


def test_a_pasted_run_environment_narrows_detection(kb: KnowledgeBase) -> None:
    assert detect_environment(kb, ["nothing telling"], "container") == ("docker", True)
    assert detect_environment(kb, ["docker compose logs nginx"], "container")[0] == "docker-compose"
    assert detect_environment(kb, ["docker logs web"], "systemd") == ("systemd-host", True)
    # a pod's cgroup does not say ingress-nginx: without its words, detection is as before
    assert detect_environment(kb, ["nothing telling"], "kubernetes") == ("systemd-host", False)
    assert detect_environment(kb, ["kubectl -n shop logs deploy/ingress-nginx-controller"], "kubernetes")[0] == (
        "kubernetes-ingress-nginx"
    )
