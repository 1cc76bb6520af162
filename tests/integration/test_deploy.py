"""Offline checks of everything under deploy/: the Kustomize base, the Dockerfile, the compose
file and the systemd unit.

- Kubernetes: ``kubectl kustomize deploy/k8s`` renders the base; every manifest is validated
  against the Kubernetes JSON schemas that kubernetes-validate ships (strict: unknown fields
  fail), then checked for what the deployment promises (non-root, read-only root, probes on
  /healthz and /readyz, resources, secrets only through secretKeyRef, a pinned image, ...).
- Dockerfile: parsed with dockerfile-parse and linted for pinned bases, a non-root final
  stage, a health check, no ADD from URLs, no secrets in ENV/ARG, clean apt lists.
- compose.yaml: yamllint, then its structure (healthchecks, depends_on condition, no inline
  secrets, every interpolated variable documented in .env.example).
- systemd: ``systemd-analyze verify`` on a copy whose ExecStart points at an existing binary,
  and the exposure score of ``systemd-analyze security --offline=true``.

Nothing here needs a network, a Docker engine or a cluster. A missing kubectl or
systemd-analyze skips its tests, saying why (kubectl is mandatory when CI=true).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
UNIT = DEPLOY / "systemd" / "nginx-triage.service"
DOCS = ROOT / "docs" / "deploy.md"

pytestmark = pytest.mark.timeout(180)

PORT = 3000
SECRET_NAME = re.compile(r"(?i)(token|secret|passw(or)?d|api_?key|private_?key|credential|database_url)")
"""Variable names whose values must never be written into a manifest, image or compose file."""
REAL_SLACK_TOKEN = re.compile(r"xox[abposr]-\d+-|xapp-\d+-")
SUBPROCESS_TIMEOUT = 60

# Every (Secret, key) the Deployment reads, and the variable it lands in.
SECRET_REFS = {
    "SLACK_BOT_TOKEN": ("nginx-triage-slack", "SLACK_BOT_TOKEN"),
    "SLACK_SIGNING_SECRET": ("nginx-triage-slack", "SLACK_SIGNING_SECRET"),
    "DATABASE_URL": ("nginx-triage-db", "DATABASE_URL"),
}


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False, **kw)


# --------------------------------------------------------------------------- Kubernetes


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl is not installed; CI=true makes the Kustomize tests mandatory")
        pytest.skip("kubectl is not installed: cannot render deploy/k8s with `kubectl kustomize`")
    proc = _run([kubectl, "kustomize", str(K8S)])
    assert proc.returncode == 0, f"kubectl kustomize failed:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert docs, "kubectl kustomize rendered nothing"
    return docs


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected exactly one {kind}, got {len(found)}"
    return found[0]


def _pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return _one(docs, "Deployment")["spec"]["template"]


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = _pod(docs)["spec"]["containers"]
    assert len(containers) == 1, "one container per pod: the bot"
    return containers[0]


def _container_port(container: dict[str, Any], port: int | str) -> int:
    """Resolve a numeric or named port to the container port number."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"port name {port!r} is not declared by the container ({named})"
    return named[port]


def _schema_versions() -> list[str]:
    """A version clusters still run, and the newest schema this kubernetes-validate ships."""
    try:
        import kubernetes_validate
    except ImportError:  # the test itself then fails saying so; collection must not
        return ["1.30"]
    latest = ".".join(kubernetes_validate.latest_version().split(".")[:2])
    return sorted({"1.30", latest}, key=lambda v: tuple(int(x) for x in v.split(".")))


@pytest.mark.parametrize("k8s_version", _schema_versions())
def test_every_manifest_validates_against_the_kubernetes_schema(
    rendered: list[dict[str, Any]], k8s_version: str
) -> None:
    import kubernetes_validate

    problems = []
    for doc in rendered:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.caught.absolute_path)
            problems.append(f"{name}: {path}: {exc.caught.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{name}: {exc.message}")
    assert not problems, f"invalid against Kubernetes {k8s_version}:\n" + "\n".join(problems)


def test_the_base_has_the_expected_objects_and_no_secret_values(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds == sorted(["Deployment", "Service", "Ingress", "PodDisruptionBudget", "ServiceAccount"])
    for doc in rendered:
        labels = doc["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/name") == "nginx-triage", f"{doc['kind']} lacks the common labels"
    text = yaml.safe_dump_all(rendered)
    assert not REAL_SLACK_TOKEN.search(text), "something that looks like a real Slack token is in the manifests"
    for path in K8S.rglob("*"):
        if path.is_file():
            body = path.read_text(encoding="utf-8")
            assert not re.search(r"(?m)^kind:\s*Secret\s*$", body), f"{path.name}: Secrets are created out of band"
            assert "secretGenerator" not in body, f"{path.name}: no secretGenerator with values in the repo"


def test_deployment_runs_http_mode_replicas_spread_over_nodes(rendered: list[dict[str, Any]]) -> None:
    deploy = _one(rendered, "Deployment")
    spec = deploy["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, "a rollout must not drop below N replicas"
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    assert all(pod_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items())

    spread = [c for c in pod.get("topologySpreadConstraints", []) if c["topologyKey"] == "kubernetes.io/hostname"]
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    anti_terms = [t.get("podAffinityTerm", t) for k in anti.values() for t in k]
    assert spread or any(t["topologyKey"] == "kubernetes.io/hostname" for t in anti_terms), (
        "replicas must be spread over nodes"
    )
    for c in spread:
        assert c["whenUnsatisfiable"] == "DoNotSchedule"
        assert all(pod_labels.get(k) == v for k, v in c["labelSelector"]["matchLabels"].items())

    container = _container(rendered)
    args = container.get("args", [])
    assert args[:1] == ["serve"] and "--port" in args, args
    assert int(args[args.index("--port") + 1]) == PORT
    assert _container_port(container, "http") == PORT
    env_names = {e["name"] for e in container.get("env", [])}
    assert "SLACK_APP_TOKEN" not in env_names, "SLACK_APP_TOKEN switches to Socket Mode; replicas run HTTP mode"

    grace = pod["terminationGracePeriodSeconds"]
    assert 10 <= grace <= 300


def test_pod_is_non_root_read_only_and_unprivileged(rendered: list[dict[str, Any]]) -> None:
    pod = _pod(rendered)["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc.get("runAsUser", 0) >= 1000
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    sa = _one(rendered, "ServiceAccount")
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert sa["automountServiceAccountToken"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")

    csc = _container(rendered)["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc.get("privileged", False) is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    assert not csc["capabilities"].get("add")
    assert csc.get("runAsUser", psc["runAsUser"]) != 0

    # A read-only root needs somewhere to write /tmp.
    mounts = {m["mountPath"]: m["name"] for m in _container(rendered)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]]


def test_image_is_pinned(rendered: list[dict[str, Any]]) -> None:
    image = _container(rendered)["image"]
    if "@sha256:" in image:
        return
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"image {image!r} has no tag"
    assert tag != "latest", f"image {image!r} uses :latest"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    tags = [i.get("newTag") for i in kustomization.get("images", [])]
    assert tags and all(t and t != "latest" for t in tags)


def test_resources_are_requested_and_limited(rendered: list[dict[str, Any]]) -> None:
    res = _container(rendered)["resources"]
    for key in ("cpu", "memory"):
        assert key in res["requests"], f"requests.{key} missing"
        assert key in res["limits"], f"limits.{key} missing"


def test_probes_hit_healthz_and_readyz(rendered: list[dict[str, Any]]) -> None:
    container = _container(rendered)
    expected = {"livenessProbe": "/healthz", "startupProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{probe} must hit {path}"
        assert _container_port(container, get["port"]) == PORT
    # The startup probe covers a slow start (KB load, database) before liveness takes over.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30


def test_secrets_only_through_secret_key_refs(rendered: list[dict[str, Any]]) -> None:
    container = _container(rendered)
    assert not any("secretRef" in e for e in container.get("envFrom", [])), "no envFrom secretRef: name each key"
    env = {e["name"]: e for e in container["env"]}
    for name, (secret, key) in SECRET_REFS.items():
        assert name in env, f"{name} is not set"
        ref = env[name].get("valueFrom", {}).get("secretKeyRef")
        assert ref == {"name": secret, "key": key}, f"{name} must come from secret {secret} key {key}: {env[name]}"
    for name, item in env.items():
        if SECRET_NAME.search(name):
            assert "value" not in item, f"{name} has an inline value"
            assert "secretKeyRef" in item.get("valueFrom", {}), f"{name} must use secretKeyRef"


def test_kb_extra_configmaps_are_optional_and_under_kb_extra_dir(rendered: list[dict[str, Any]]) -> None:
    container = _container(rendered)
    env = {e["name"]: e.get("value") for e in container["env"]}
    kb_dir = env.get("KB_EXTRA_DIR")
    assert kb_dir and kb_dir.startswith("/"), "KB_EXTRA_DIR must be set to an absolute path"
    volumes = {v["name"]: v for v in _pod(rendered)["spec"]["volumes"]}
    by_cm = {}
    for mount in container["volumeMounts"]:
        cm = volumes[mount["name"]].get("configMap")
        if cm is None:
            continue
        assert cm.get("optional") is True, f"ConfigMap {cm['name']} must be optional: the bot starts without it"
        assert mount.get("readOnly") is True
        assert mount["mountPath"] == kb_dir or mount["mountPath"].startswith(kb_dir + "/")
        by_cm[cm["name"]] = mount["mountPath"]
    assert "nginx-triage-kb-extra" in by_cm, "the ConfigMap nginx-triage-kb-extra is not mounted"
    # The loader reads KB_EXTRA_DIR/{errors,faq,environments}/*.yaml.
    for path in by_cm.values():
        assert path == kb_dir or path.rsplit("/", 1)[1] in ("errors", "faq", "environments"), path


def test_service_ingress_and_pdb_select_the_pods(rendered: list[dict[str, Any]]) -> None:
    pod_labels = _pod(rendered)["metadata"]["labels"]
    container = _container(rendered)

    svc = _one(rendered, "Service")
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    assert _container_port(container, port["targetPort"]) == PORT

    ing = _one(rendered, "Ingress")["spec"]
    assert ing["ingressClassName"] == "nginx"
    assert ing["tls"] and all(t.get("secretName") for t in ing["tls"])
    tls_hosts = {h for t in ing["tls"] for h in t.get("hosts", [])}
    paths = []
    for rule in ing["rules"]:
        assert rule.get("host") in tls_hosts, "every Ingress host is covered by the TLS section"
        for p in rule["http"]["paths"]:
            paths.append(p["path"])
            backend = p["backend"]["service"]
            assert backend["name"] == svc["metadata"]["name"]
            assert backend["port"].get("name") == port["name"] or backend["port"].get("number") == port["port"]
    assert paths == ["/slack/events"], "only Slack's endpoint is exposed (not /metrics or /readyz)"

    pdb = _one(rendered, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1
    assert all(pod_labels.get(k) == v for k, v in pdb["selector"]["matchLabels"].items())


# --------------------------------------------------------------------------- Dockerfile


def _stages() -> list[list[dict[str, Any]]]:
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(DOCKERFILE))
    stages: list[list[dict[str, Any]]] = []
    for ins in parser.structure:
        if ins["instruction"] == "FROM":
            stages.append([])
        if ins["instruction"] != "COMMENT":
            assert stages, f"{ins['instruction']} before the first FROM"
            stages[-1].append(ins)
    return stages


def _ins(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def _exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not the exec (JSON) form: {value}"
    return parsed


def test_dockerfile_is_multi_stage_with_pinned_bases() -> None:
    stages = _stages()
    assert len(stages) >= 2, "multi-stage: build the wheel in one stage, run it in another"
    names = set()
    for stage in stages:
        (value,) = _ins(stage, "FROM")
        words = [w for w in value.split() if not w.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].lower() == "as":
            names.add(words[2])
        if image in names:
            continue  # FROM an earlier stage
        assert "$" not in image, f"{image}: base images are spelled out, not ARG-substituted"
        if "@sha256:" in image:
            continue
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert tag and tag != "latest", f"{image}: pin the base image by tag"
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{image}: pin a full version (e.g. 3.11.13-slim-bookworm)"
    final_from = _ins(stages[-1], "FROM")[0]
    assert re.match(r"python:3\.11\.\d+-slim", final_from), f"final stage must be slim Python 3.11: {final_from}"


def test_dockerfile_final_stage_is_non_root_with_healthcheck() -> None:
    final = _stages()[-1]
    users = _ins(final, "USER")
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user.isdigit(), f"USER {users[-1]}: use a fixed numeric UID (Kubernetes runAsNonRoot checks it)"
    assert int(user) >= 1000

    (check,) = _ins(final, "HEALTHCHECK")
    assert not check.strip().upper().startswith("NONE")
    assert "/healthz" in check and "urllib" in check and "os.environ.get('PORT', '3000')" in check
    assert not re.search(r"\b(curl|wget)\b", check), "no curl/wget in the image: python's urllib"

    assert _exec_form(_ins(final, "ENTRYPOINT")[-1]) == ["nginx-triage"]
    # serve's --port falls back to $PORT, which the health check reads too: one number.
    assert _exec_form(_ins(final, "CMD")[-1]) == ["serve"]
    assert str(PORT) in _ins(final, "EXPOSE")[-1].split()

    env = " ".join(_ins(final, "ENV"))
    assert f"PORT={PORT}" in env.split()
    assert "NGINX_TRIAGE_STATE_DIR=" in env
    state = re.search(r"NGINX_TRIAGE_STATE_DIR=(\S+)", env)
    assert state and any(state.group(1) in v for v in _ins(final, "VOLUME")), "the state dir is a VOLUME"


def test_dockerfile_compiler_only_in_build_stage_and_apt_cleaned() -> None:
    stages = _stages()
    build_runs = " ".join(r for s in stages[:-1] for r in _ins(s, "RUN"))
    assert re.search(r"\bgcc\b", build_runs), "the build stage installs gcc for the C accelerator"
    for run in _ins(stages[-1], "RUN"):
        assert not re.search(r"\b(gcc|build-essential|g\+\+)\b", run), f"compiler in the final stage: {run}"
    assert any("nginx-triage" in r and "install" in r for r in _ins(stages[-1], "RUN")), (
        "the final stage installs the wheel into a venv"
    )
    for stage in stages:
        for run in _ins(stage, "RUN"):
            if re.search(r"\bapt(-get)?\s+install\b", run):
                assert "--no-install-recommends" in run, run
                assert "rm -rf /var/lib/apt/lists" in run, f"apt lists not cleaned in the same RUN: {run}"


def test_dockerfile_has_no_remote_add_and_no_secrets() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not REAL_SLACK_TOKEN.search(text)
    for stage in _stages():
        for add in _ins(stage, "ADD"):
            assert not re.search(r"(?i)\b(https?|ftp)://", add), f"ADD from a URL: {add}"
            assert not re.search(r"(?i)\bgit@", add), f"ADD from git: {add}"
        for instruction in ("ENV", "ARG"):
            for value in _ins(stage, instruction):
                keys = (
                    re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", value)
                    if instruction == "ARG"
                    else re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", value)
                )
                for key in keys:
                    assert not SECRET_NAME.search(key), (
                        f"{instruction} {key}: secrets come from the runtime environment"
                    )


def _ignored(patterns: list[tuple[bool, str]], path: str) -> bool:
    """Docker's rule: the last pattern that matches the path (or a parent of it) decides."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, pattern in patterns:
        pat = pattern.strip("/")
        if any(fnmatch.fnmatchcase(p, pat) or fnmatch.fnmatchcase(p, pat.replace("**/", "")) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_out_and_sources_in() -> None:
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    patterns = [(ln.startswith("!"), ln.lstrip("!")) for ln in lines if ln and not ln.startswith("#")]
    for path in (".env", "deploy/.env", ".venv/bin/python", ".git/config", "tests/conftest.py"):
        assert _ignored(patterns, path), f"{path} would be sent to the Docker build"
    for stage in _stages():
        for copy in _ins(stage, "COPY"):
            words = shlex.split(copy)
            if any(w.startswith("--from") for w in words):
                continue
            for src in [w for w in words if not w.startswith("--")][:-1]:
                assert not _ignored(patterns, src), f"COPY {src}: excluded by {DOCKERIGNORE.name}"


# --------------------------------------------------------------------------- compose


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            out[key.strip()] = value.strip()
    return out


_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op and op.startswith(":") and not value:
            value = None
        if value is None:
            assert op != ":?" and op != "?", f"${{{name}}} is required: {arg}"
            return arg or ""
        return value

    return _INTERP.sub(sub, text.replace("$$", "\0")).replace("\0", "$")


def test_deploy_yaml_passes_yamllint() -> None:
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    conf = YamlLintConfig(
        "extends: default\n"
        "rules:\n"
        "  line-length: {max: 180}\n"
        "  document-start: disable\n"
        "  truthy: {check-keys: false}\n"
        "  comments: {min-spaces-from-content: 1}\n"
    )
    files = [COMPOSE, *sorted(K8S.glob("*.yaml"))]
    problems = []
    for path in files:
        for p in linter.run(path.read_text(encoding="utf-8"), conf, str(path)):
            problems.append(f"{path.relative_to(ROOT)}:{p.line}:{p.column}: {p.level}: {p.message}")
    assert not problems, "\n".join(problems)


def test_compose_bot_and_postgres_structure() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"bot", "db"}
    bot, db = services["bot"], services["db"]

    assert re.match(r"postgres:16(\.\d+)?(-|$)", db["image"]), f"PostgreSQL 16, pinned: {db['image']}"
    assert db["healthcheck"]["test"], "db needs a healthcheck for depends_on"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    named = set(compose.get("volumes") or {})
    db_volumes = [v.split(":")[0] for v in db["volumes"]]
    assert any(v in named for v in db_volumes), "PostgreSQL data lives on a named volume"

    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["restart"] in ("always", "unless-stopped", "on-failure")
    assert db["restart"] in ("always", "unless-stopped", "on-failure")
    env_files = bot["env_file"] if isinstance(bot["env_file"], list) else [bot["env_file"]]
    assert ".env" in [e if isinstance(e, str) else e["path"] for e in env_files]
    assert bot["read_only"] is True
    assert any(t.split(":")[0] == "/tmp" for t in bot["tmpfs"])
    assert "ALL" in bot.get("cap_drop", [])

    assert bot["command"] == ["serve", "--port", str(PORT)]
    assert any(str(p).endswith(f":{PORT}") for p in bot["ports"])
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    env = bot["environment"]
    assert "SLACK_APP_TOKEN" not in env, "HTTP mode: SLACK_APP_TOKEN stays unset"
    kb_dir = env["KB_EXTRA_DIR"]
    example = _env_example()
    targets = {}
    for volume in bot["volumes"]:
        spec = _interpolate(str(volume), example)
        targets[spec.split(":")[1]] = spec
    assert kb_dir in targets and targets[kb_dir].endswith(":ro"), "KB overrides are mounted read-only at KB_EXTRA_DIR"
    state = env["NGINX_TRIAGE_STATE_DIR"]
    assert state in targets and targets[state].split(":")[0] in named, "the state dir is a named volume"


def test_compose_has_no_inline_secrets() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not REAL_SLACK_TOKEN.search(text)
    for name, service in _compose()["services"].items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        for key, value in env.items():
            value = str(value)
            if key == "DATABASE_URL" or "://" in value:
                masked = _INTERP.sub("INTERPOLATED", value)
                password = masked.partition("://")[2].rpartition("@")[0].partition(":")[2]
                assert password in ("", "INTERPOLATED"), f"{name}.{key}: inline password"
            elif SECRET_NAME.search(key):
                assert _INTERP.fullmatch(value), f"{name}.{key}: secrets come from .env, not compose.yaml"
        for m in _INTERP.finditer(text):
            if SECRET_NAME.search(m.group(1)):
                assert m.group(2) in (None, "?", ":?"), f"${{{m.group(1)}}} must not default to a value"


def test_env_example_documents_every_variable_with_placeholders() -> None:
    example = _env_example()
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for var in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "DATABASE_URL",
        "KB_EXTRA_DIR" if "KB_EXTRA_DIR" in example else "KB_EXTRA_HOST_DIR",
    ):
        assert var in text, f"{var} is not documented in .env.example"
    compose_text = COMPOSE.read_text(encoding="utf-8")
    for m in _INTERP.finditer(compose_text):
        assert m.group(1) in example, f"compose.yaml uses ${{{m.group(1)}}}: document it in .env.example"
    assert example["SLACK_APP_TOKEN"] == "", "SLACK_APP_TOKEN must stay empty for HTTP mode"
    assert not REAL_SLACK_TOKEN.search(text)
    for key, value in example.items():
        if SECRET_NAME.search(key) and value:
            assert "replace-me" in value, f"{key}: use an obvious placeholder, not a real value"


def test_compose_database_url_is_usable_by_the_bot() -> None:
    from bot.store.connection import parse_url

    env = _env_example()
    url = _interpolate(str(_compose()["services"]["bot"]["environment"]["DATABASE_URL"]), env)
    parsed = parse_url(url)
    assert parsed.get_backend_name() == "postgresql"
    assert parsed.host == "db" and parsed.password == env["POSTGRES_PASSWORD"]
    assert parsed.database == env.get("POSTGRES_DB", "triage")


# --------------------------------------------------------------------------- systemd


def _unit_entries() -> Iterator[tuple[str, str, str]]:
    section = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{UNIT.name}: not KEY=VALUE: {raw!r}"
        yield section, key.strip(), value.strip()


def test_systemd_unit_settings() -> None:
    service: dict[str, list[str]] = {}
    for section, key, value in _unit_entries():
        if section == "Service":
            service.setdefault(key, []).append(value)

    def last(key: str) -> str:
        assert key in service, f"[Service] {key}= is missing"
        return service[key][-1]

    assert last("Type") in ("simple", "exec")
    assert last("ExecStart") == f"/opt/nginx-triage/bin/nginx-triage serve --port {PORT}"
    assert last("EnvironmentFile") == "/etc/nginx-triage/env"
    assert last("Restart") == "on-failure"
    assert last("StateDirectory") == "nginx-triage"
    assert last("DynamicUser") == "yes" or last("User") == "nginx-triage"
    for key in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "LockPersonality",
    ):
        assert last(key) == "yes", f"{key}=yes"
    assert last("ProtectSystem") == "strict"
    assert set(last("RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert service["CapabilityBoundingSet"][-1] == "", "CapabilityBoundingSet= empty: no capabilities"
    assert "@system-service" in service["SystemCallFilter"][0].split()
    assert not any(SECRET_NAME.search(v.partition("=")[0]) for v in service.get("Environment", [])), (
        "secrets belong in EnvironmentFile, not Environment="
    )


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is not installed; CI=true makes the unit checks mandatory")
        pytest.skip("systemd-analyze is not installed: cannot verify deploy/systemd/nginx-triage.service")
    return exe


@pytest.fixture()
def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify checks it)."""
    true = shutil.which("true") or "/bin/true"
    text = re.sub(
        r"(?m)^ExecStart=/opt/nginx-triage/bin/nginx-triage ", f"ExecStart={true} ", UNIT.read_text(encoding="utf-8")
    )
    assert true in text
    out = tmp_path / UNIT.name
    out.write_text(text, encoding="utf-8")
    return out


def test_systemd_analyze_verify(systemd_analyze: str, unit_copy: Path) -> None:
    proc = _run([systemd_analyze, "verify", "--man=no", str(unit_copy)])
    ours = [ln for ln in (proc.stdout + proc.stderr).splitlines() if UNIT.name in ln]
    assert proc.returncode == 0 and not ours, f"systemd-analyze verify:\n{proc.stdout}{proc.stderr}"


def test_systemd_analyze_security_exposure(systemd_analyze: str, unit_copy: Path) -> None:
    proc = _run([systemd_analyze, "security", "--offline=true", "--no-pager", str(unit_copy)])
    if proc.returncode != 0 and re.search(r"(?i)unrecognized option|unknown option", proc.stderr):
        if os.environ.get("CI") == "true":
            pytest.fail(f"systemd-analyze has no offline security scan (systemd >= 250 needed): {proc.stderr.strip()}")
        pytest.skip(f"this systemd-analyze has no offline security scan: {proc.stderr.strip()}")
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout)
    assert m, f"no exposure score in:\n{proc.stdout[-2000:]}{proc.stderr}"
    score = float(m.group(1))
    assert score <= 2.0, f"exposure {score} > 2.0 (scale 0 safe .. 10 unsafe):\n{proc.stdout}"


# --------------------------------------------------------------------------- docs


def test_docs_tell_how_to_create_every_secret_the_deployment_reads() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for secret, key in SECRET_REFS.values():
        create = rf"kubectl (-n \S+ )?create secret generic {re.escape(secret)}\b"
        assert re.search(create, docs), f"docs/deploy.md: how to create {secret}"
        assert f"--from-literal={key}=" in docs or f"--from-file={key}=" in docs, f"docs/deploy.md: key {key}"
    for words in ("KB_EXTRA_DIR", "nginx-triage-kb-extra", "nginx_triage_", "/readyz", "Socket Mode"):
        assert words in docs, f"docs/deploy.md does not mention {words}"
