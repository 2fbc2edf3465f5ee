"""The deployment files, checked statically (no Docker or cluster on the test machine).

What can drift silently is checked here: a setting renamed in code but not in a
manifest, a probe pointing at a path that no longer exists, an entrypoint naming
a command that was removed, an image that floats, or key material pasted in.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from gateway.api.health import router as health_router
from gateway.cli.main import app
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OPERATIONS = ROOT / "docs" / "operations.md"
SETTING_NAME = re.compile(r"\bKETENPOORT_[A-Z0-9_]*[A-Z0-9]\b")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
# Files an operator creates locally and git ignores; they hold the real values.
LOCAL_ONLY = {".env"}

runner = CliRunner()


def _setting_classes() -> list[type[BaseSettings]]:
    return [Settings]


def _env_names() -> set[str]:
    return {f"KETENPOORT_{name.upper()}" for cls in _setting_classes() for name in cls.model_fields}


def _deploy_files() -> list[Path]:
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.name not in LOCAL_ONLY]
    assert files, "deploy/ is empty"
    return sorted(files)


def _yaml_files() -> list[Path]:
    return sorted(p for p in _deploy_files() if p.suffix in {".yaml", ".yml"})


def _documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in _documents(path) if "kind" in doc]


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o
        for o in _k8s_objects()
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def _looks_random(run: str) -> bool:
    """Key material mixes cases and digits; identifiers and placeholders do not."""
    return (
        any(c.isdigit() for c in run)
        and any(c.islower() for c in run)
        and any(c.isupper() for c in run)
    )


def _walk(node: Any, key: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _dockerfile_argv() -> list[str]:
    """ENTRYPOINT + CMD of the final stage, both in exec (JSON) form."""
    parts: dict[str, list[str]] = {}
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            parts.clear()
        for instruction in ("ENTRYPOINT", "CMD"):
            if line.startswith(instruction + " "):
                parts[instruction] = json.loads(line[len(instruction) + 1 :])
    return parts.get("ENTRYPOINT", []) + parts.get("CMD", [])


def _assert_cli_accepts(argv: list[str]) -> None:
    """The arguments parse: ``--help`` is eager, so unknown options still fail."""
    assert argv, "no command"
    result = runner.invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, f"`ketenpoort {shlex.join(argv)}` rejected: {result.output}"


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert _documents(path), f"{path.name} has no documents"


def test_every_named_setting_exists() -> None:
    known = _env_names()
    sources = [*_deploy_files(), OPERATIONS]
    named = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in sources
        for name in SETTING_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert {name for _, name in named}, "no KETENPOORT_* setting named anywhere"
    unknown = sorted((where, name) for where, name in named if name not in known)
    assert not unknown, f"not a field of the settings classes: {unknown}"


def test_operations_doc_lists_every_setting() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    missing = sorted(name for name in _env_names() if f"`{name}`" not in text)
    assert not missing, f"docs/operations.md does not document {missing}"


def test_configmap_holds_no_secret_settings() -> None:
    secret_fields = {
        f"KETENPOORT_{name.upper()}"
        for cls in _setting_classes()
        for name, field in cls.model_fields.items()
        if "SecretStr" in repr(field.annotation)
    } | {"KETENPOORT_DATABASE_URL"}
    data = _one("ConfigMap", "ketenpoort-config")["data"]
    assert set(data) <= _env_names()
    assert not secret_fields & set(data), "secrets belong in the Secret, not the ConfigMap"


def test_deployment_probes_use_the_real_health_routes() -> None:
    routes = {getattr(route, "path", None) for route in health_router.routes}
    deployment = _one("Deployment", "ketenpoort")
    assert deployment["spec"]["replicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    expected = {
        "readinessProbe": "/health/ready",
        "livenessProbe": "/health/live",
        "startupProbe": "/health/live",
    }
    for probe, path in expected.items():
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path, probe
        assert http_get["path"] in routes, f"{path} is not a route of gateway.api.health"
        assert http_get["port"] in ports
    assert "--port" in container["args"]
    assert container["args"][container["args"].index("--port") + 1] == str(ports["http"])
    assert "limits" in container["resources"] and "requests" in container["resources"]


def test_pods_run_non_root_with_read_only_root() -> None:
    for kind, name in (("Deployment", "ketenpoort"), ("Job", "ketenpoort-db-upgrade")):
        pod = _one(kind, name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        emptydirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in emptydirs, f"{name}: /tmp must be an emptyDir"


def test_deployment_mounts_policies_from_a_configmap_and_shared_keys() -> None:
    pod = _one("Deployment", "ketenpoort")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    config = _one("ConfigMap", "ketenpoort-config")["data"]
    assert "configMap" in volumes[mounts[config["KETENPOORT_POLICY_DIR"]]]
    keys = volumes[mounts[config["KETENPOORT_KEY_DIR"]]]
    claim = _one("PersistentVolumeClaim", keys["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "replicas share one key directory"


def test_no_floating_images() -> None:
    images = [
        (path.name, image)
        for path in _yaml_files()
        for doc in _documents(path)
        for image in _walk(doc, "image")
    ]
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            images.append(("Dockerfile", line.split()[1]))
    assert len(images) >= 5
    for where, image in images:
        assert isinstance(image, str), where
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{where}: {image} has no tag (means latest)"
        assert tag != "latest", f"{where}: {image}"


def test_kustomization_lists_existing_files_and_no_secret() -> None:
    (kustomization,) = _documents(K8S / "kustomization.yaml")
    resources: list[str] = kustomization["resources"]
    for resource in resources:
        assert (K8S / resource).is_file(), resource
    kinds = {doc["kind"] for r in resources for doc in _documents(K8S / r)}
    required = {
        "Namespace",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    assert kinds >= required
    assert "Secret" not in kinds, "the Secret template must not be applied with placeholders"


def test_secret_template_has_placeholders_only() -> None:
    secret = _one("Secret")
    assert set(secret["stringData"]) == {"KETENPOORT_KEY_PASSPHRASE", "KETENPOORT_DATABASE_URL"}
    for key, value in secret["stringData"].items():
        assert "REPLACE" in value, f"{key} must be a placeholder"


def test_network_policy_egress_is_limited() -> None:
    policy = _one("NetworkPolicy", "ketenpoort-gateway")
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {5432, 4318, 443, 53} <= ports
    for rule in policy["spec"]["egress"]:
        assert rule.get("to"), "an egress rule without `to` allows every destination"
    default_deny = _one("NetworkPolicy", "default-deny")["spec"]
    assert default_deny["podSelector"] == {} and "egress" not in default_deny


def test_no_key_material_or_real_secrets() -> None:
    for path in _deploy_files():
        text = path.read_text(encoding="utf-8")
        assert "BEGIN" not in text and "PRIVATE KEY" not in text, path.name
        blobs = [run for run in BASE64_RUN.findall(text) if _looks_random(run)]
        assert not blobs, f"{path.name}: long base64-looking string"
    env_example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    for line in env_example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and ("PASS" in key or "SECRET" in key):
            assert value == "", f".env.example gives {key} a value"
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored


def test_no_private_key_can_enter_the_image() -> None:
    text = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    ignore = [line.strip() for line in text.splitlines() if line and not line.startswith("#")]
    assert ignore[0] == "**", "the build context must start from exclude-all"
    assert not any(line.startswith("!keys") or line.startswith("!var") for line in ignore)


def test_dockerfile_runs_a_real_command_as_non_root() -> None:
    argv = _dockerfile_argv()
    assert argv[0] == "ketenpoort"
    listing = runner.invoke(app, ["--help"])
    assert listing.exit_code == 0
    assert re.search(rf"\b{re.escape(argv[1])}\b", listing.output), listing.output
    assert argv[1:3] == ["serve", "--host"] and argv[3] == "0.0.0.0"
    _assert_cli_accepts(argv[1:])
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert "python:3.11-slim" in dockerfile and "pip install ." in dockerfile


def test_migration_commands_are_real() -> None:
    job = _one("Job", "ketenpoort-db-upgrade")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["db", "upgrade"]
    _assert_cli_accepts(container["args"])
    _assert_cli_accepts(_compose()["services"]["migrate"]["command"])


def test_compose_gateways_share_keys_database_and_collector() -> None:
    compose = _compose()
    services = compose["services"]
    gateways = [s for name, s in services.items() if name.startswith("gateway-")]
    assert len(gateways) == 2
    first, second = gateways
    assert first["environment"] == second["environment"]
    assert first["volumes"] == second["volumes"]
    assert any(v.startswith("keys:") for v in first["volumes"])
    env = first["environment"]
    assert "@postgres:5432/" in env["KETENPOORT_DATABASE_URL"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert "KETENPOORT_KEY_PASSPHRASE" in env and "${" in env["KETENPOORT_KEY_PASSPHRASE"]
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text(encoding="utf-8"))
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert env["KETENPOORT_OTLP_ENDPOINT"] == f"http://otel-collector:{http.rsplit(':', 1)[1]}"
    assert "opentelemetry-collector-contrib" in services["otel-collector"]["image"]
    health = first["healthcheck"]["test"]
    assert any("/health/ready" in part for part in health)


def test_proxy_balances_both_gateways_on_readiness() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    upstreams = re.search(r"reverse_proxy\s+([^{]+)\{", caddyfile)
    assert upstreams is not None
    assert set(upstreams.group(1).split()) == {"gateway-1:8080", "gateway-2:8080"}
    assert re.search(r"health_uri\s+/health/ready\b", caddyfile)
    mounted = _compose()["services"]["proxy"]["volumes"]
    assert any(v.startswith("./Caddyfile:") for v in mounted)
