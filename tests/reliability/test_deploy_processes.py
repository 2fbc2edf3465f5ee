"""deploy/compose.yaml started for real, as processes: PostgreSQL, migrate, two gateways, Caddy.

There is no container engine on the CI machine, so each service of the compose
file runs as the process its image would run, with the environment the compose
file gives it (interpolated as ``docker compose`` does) and only host names,
ports and volume paths mapped to this machine. The proxy is ``caddy`` with the
repository's Caddyfile (upstream addresses and the listen port mapped). The
collector runs only where ``otelcol-contrib`` is installed (Debian has no
package); otherwise that one test is skipped and says why. What cannot be
reproduced without containers (read-only root, dropped capabilities, the
internal network) stays checked statically in tests/deploy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from tests.reliability.chaos_support import Instance, PgCluster, Shared
from tests.reliability.support import BSN, PURPOSE, REPO, free_port

pytestmark = pytest.mark.slow

DEPLOY = REPO / "deploy"
COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "chaos-db-secret",
    "KETENPOORT_KEY_PASSPHRASE": "chaos-passphrase",
}
_VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` as docker compose expands them."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return ""

    return _VAR.sub(one, value)


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def mapped(value: str, mapping: dict[str, str]) -> str:
    for compose_value, local in mapping.items():
        value = value.replace(compose_value, local)
    return value


@dataclass
class Stack:
    pg: PgCluster
    shared: Shared
    gateways: list[Instance]
    proxy_url: str
    proxy: subprocess.Popen[bytes] | None


def _caddyfile(gateways: list[Instance], proxy_port: int) -> str:
    text = (DEPLOY / "Caddyfile").read_text()
    replacements = {
        "gateway-1:8080": f"127.0.0.1:{gateways[0].port}",
        "gateway-2:8080": f"127.0.0.1:{gateways[1].port}",
        ":8080 {": f":{proxy_port} {{",
    }
    if _caddy_version() < (2, 6, 4):
        # Debian's caddy 2.6.2 predates `request_buffers` (2.6.4; the compose image
        # is 2.8); its older spelling does the same (buffer the body for retries).
        replacements["request_buffers 2MB"] = "buffer_requests"
    for compose_value, local in replacements.items():
        assert compose_value in text, f"the Caddyfile no longer has {compose_value!r}"
        text = text.replace(compose_value, local)
    return text


def _caddy_version() -> tuple[int, ...]:
    caddy = shutil.which("caddy")
    assert caddy is not None
    out = subprocess.run([caddy, "version"], capture_output=True, text=True, check=True).stdout
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", out.strip())
    assert found, out
    return tuple(int(part) for part in found.groups())


def _wait(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url}: the process exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200")


@pytest.fixture(scope="module")
def stack(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    services = compose_services()
    assert {"postgres", "migrate", "gateway-1", "gateway-2", "proxy"} <= set(services)
    workdir = tmp_path_factory.mktemp("deploy")
    pg = pg_cluster
    proxy_port = free_port()
    proxy_url = f"http://127.0.0.1:{proxy_port}"
    env = {**COMPOSE_ENV, "KETENPOORT_BASE_URL": proxy_url}
    shared: Shared | None = None
    gateways: list[Instance] = []
    proxy: subprocess.Popen[bytes] | None = None
    try:
        # The postgres service: POSTGRES_USER owns POSTGRES_DB.
        pg_env = services["postgres"]["environment"]
        user, database = pg_env["POSTGRES_USER"], pg_env["POSTGRES_DB"]
        password = interpolate(pg_env["POSTGRES_PASSWORD"], env)
        pg.psql("postgres", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        pg.psql("postgres", f"CREATE DATABASE {database} OWNER {user}")
        paths = {
            "@postgres:5432": f"@127.0.0.1:{pg.port}",
            "/app/policies": str(workdir / "policies"),
            "/app/keys": str(workdir / "keys"),
        }
        shared = Shared(workdir, "", proxy_url, 5.0)
        shared.prepare(jwks_url=proxy_url + "/oauth/jwks")

        def service_env(name: str) -> dict[str, str]:
            declared = services[name]["environment"]
            values = {k: mapped(interpolate(str(v), env), paths) for k, v in declared.items()}
            # Without a collector process the gateway exports nowhere (test below).
            values.pop("KETENPOORT_OTLP_ENDPOINT", None)
            return {**os.environ, **values}

        # The migrate service runs to completion before either gateway starts.
        assert services["migrate"]["command"] == ["db", "upgrade"]
        migrate = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "db", "upgrade"],
            env=service_env("migrate"),
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        for name in ("gateway-1", "gateway-2"):
            gateway_env = service_env(name)
            assert gateway_env["KETENPOORT_DATABASE_URL"].startswith("postgresql://ketenpoort:")
            assert "KETENPOORT_DEV_MODE" not in gateway_env, "compose runs in production mode"
            gateways.append(Instance(shared, name, env=gateway_env))
        # Both start at once on an empty key volume, as `docker compose up` does.
        for gateway in gateways:
            gateway.start(wait=False)
        for gateway in gateways:
            gateway.wait_ready()
        caddy = shutil.which("caddy")
        if caddy is not None:
            config = workdir / "Caddyfile"
            config.write_text(_caddyfile(gateways, proxy_port), encoding="utf-8")
            caddy_home = workdir / "caddy"
            caddy_home.mkdir()
            proxy = subprocess.Popen(
                [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
                env={
                    **os.environ,
                    "HOME": str(caddy_home),
                    "XDG_DATA_HOME": str(caddy_home),
                    "XDG_CONFIG_HOME": str(caddy_home),
                },
                stdout=(workdir / "caddy.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            _wait(proxy_url + "/health/ready", proxy)
        yield Stack(pg, shared, gateways, proxy_url, proxy)
    finally:
        if proxy is not None:
            proxy.send_signal(signal.SIGTERM)
            try:
                proxy.wait(10)
            except subprocess.TimeoutExpired:
                proxy.kill()
        for gateway in gateways:
            gateway.stop()
        if shared is not None:
            shared.close()


def _need_proxy(stack: Stack) -> None:
    if stack.proxy is None:
        pytest.skip(
            "caddy is not installed (scripts/system-deps.sh installs it): proxy part skipped"
        )


def _access_lines(gateway: Instance, path_part: str) -> int:
    return sum(1 for line in gateway.log_path.read_text().splitlines() if path_part in line)


def test_both_gateways_share_keys_and_serve(stack: Stack) -> None:
    """Promise 11 (one deployment): two gateways started together on one key volume agree.

    A token one gateway issues is accepted by the other (same signing keys, no
    race on the empty volume), and both say ready on the shared database.
    """
    first, second = stack.gateways
    client = stack.shared.client(first.url)  # token issued by the first gateway
    client.http.close()
    client.http = httpx.Client(base_url=second.url, timeout=30)  # used at the second
    try:
        opened = client.open_case(
            "zvh-demo", PURPOSE, BSN, ["gemeente-demo", "ggz-demo"], "casusoverleg"
        )
    finally:
        client.close()
    assert opened.status_code == 201, opened.text
    for gateway in stack.gateways:
        assert httpx.get(gateway.url + "/health/ready", timeout=5).status_code == 200


def test_queries_through_the_proxy_reach_both_gateways(stack: Stack) -> None:
    """The Caddyfile balances over both gateways; a brokered query through it discloses."""
    _need_proxy(stack)
    case_id = stack.shared.open_case(stack.proxy_url)
    client = stack.shared.client(stack.proxy_url, keepalive=False)
    try:
        answers = [client.query(case_id, ["huisvesting"]) for _ in range(12)]
    finally:
        client.close()
    assert all(a.status_code == 200 for a in answers), [
        a.text for a in answers if a.status_code != 200
    ]
    assert all(a.json()["results"][0]["status"] == "ok" for a in answers)
    for gateway in stack.gateways:
        assert _access_lines(gateway, f"/v1/cases/{case_id}/queries") >= 3, gateway.name


def test_proxy_routes_around_a_dead_gateway(stack: Stack) -> None:
    """Promise 5 at the edge: with one gateway killed, queries through the proxy go on.

    Caddy retries a refused connection on the other gateway (``lb_retries``) and
    its passive health check (``fail_duration``) keeps the dead one out. A POST
    already sent on a pooled keep-alive connection to the gateway at the moment
    it died is not retried by Caddy (it cannot know whether the gateway acted on
    it): that request gets a 502, never a 500. At most one such 502, then 200s.
    """
    _need_proxy(stack)
    case_id = stack.shared.open_case(stack.proxy_url)
    client = stack.shared.client(stack.proxy_url)  # logged in, keep-alive to the proxy
    try:
        assert client.query(case_id, ["huisvesting"]).status_code == 200
        stack.gateways[0].kill9()
        statuses = [client.query(case_id, ["huisvesting"]).status_code for _ in range(12)]
    finally:
        client.close()
    failed = [s for s in statuses if s != 200]
    assert failed in ([], [502]), statuses
    assert statuses[-10:] == [200] * 10, statuses


def test_collector_receives_the_gateways_telemetry(stack: Stack) -> None:
    """The collector config (deploy/otel-collector.yaml) runs and accepts OTLP from a gateway."""
    collector = shutil.which("otelcol-contrib")
    if collector is None:
        pytest.skip(
            "otelcol-contrib is not installed (no Debian package; the compose file runs the "
            "otel/opentelemetry-collector-contrib image): collector part skipped"
        )
    port, health = free_port(), free_port()
    out = stack.shared.workdir / "otel-out"
    out.mkdir(exist_ok=True)
    text = (DEPLOY / "otel-collector.yaml").read_text()
    for compose_value, local in {
        "0.0.0.0:4318": f"127.0.0.1:{port}",
        "0.0.0.0:13133": f"127.0.0.1:{health}",
        "/var/lib/otelcol/out": str(out),
    }.items():
        assert compose_value in text
        text = text.replace(compose_value, local)
    config = stack.shared.workdir / "otel.yaml"
    config.write_text(text, encoding="utf-8")
    process = subprocess.Popen([collector, f"--config={config}"])
    try:
        _wait(f"http://127.0.0.1:{health}/", process)
        env = {
            **(stack.gateways[1].env or {}),
            "KETENPOORT_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        }
        traced = Instance(stack.shared, "traced", env=env)
        traced.start()
        try:
            for _ in range(5):
                httpx.get(traced.url + "/health/ready", timeout=5)
        finally:
            traced.stop()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (out / "traces.jsonl").exists():
            time.sleep(0.5)
        assert (out / "traces.jsonl").exists()
    finally:
        process.terminate()
        process.wait(10)


def _k8s(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "k8s" / name).read_text())
    return document


def test_kubernetes_pod_command_answers_its_probes(stack: Stack) -> None:
    """deploy/k8s started as processes: the Job's command, then the pod's args and env.

    The gateway container's ``args`` with the ConfigMap and the Secret template
    as its environment (placeholders filled, paths and the database host mapped)
    must become ready within the startup probe's budget and answer the liveness
    and readiness probe paths within their timeouts.
    """
    job = _k8s("migration-job.yaml")["spec"]["template"]["spec"]["containers"][0]
    pod = _k8s("deployment.yaml")["spec"]["template"]["spec"]["containers"][0]
    env = {**_k8s("configmap.yaml")["data"], **_k8s("secret.template.yaml")["stringData"]}
    placeholders = {
        "REPLACE_WITH_A_LONG_RANDOM_PASSPHRASE": COMPOSE_ENV["KETENPOORT_KEY_PASSPHRASE"],
        "REPLACE_WITH_PASSWORD": COMPOSE_ENV["POSTGRES_PASSWORD"],
        "REPLACE_WITH_DB_HOST:5432": f"127.0.0.1:{stack.pg.port}",
        "/app/policies": str(stack.shared.policy_dir),
        "/app/keys": str(stack.shared.key_dir),
    }
    values = {k: mapped(str(v), placeholders) for k, v in env.items()}
    assert not [v for v in values.values() if "REPLACE_WITH" in v]
    values.pop("KETENPOORT_OTLP_ENDPOINT")  # a cluster-internal name; no collector here
    full_env = {**os.environ, **values}
    python = [sys.executable, "-m", "gateway.cli.main"]
    migrate = subprocess.run(
        [*python, *job["args"]], env=full_env, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    args = list(pod["args"])
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    assert pod["ports"][0]["containerPort"] == 8080
    log = (stack.shared.workdir / "k8s-pod.log").open("wb")
    process = subprocess.Popen(
        [*python, *args], env=full_env, cwd=stack.shared.workdir, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        startup = pod["startupProbe"]
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        _wait(base + startup["httpGet"]["path"], process, timeout_s=budget)
        for probe in ("livenessProbe", "readinessProbe"):
            spec = pod[probe]
            answer = httpx.get(base + spec["httpGet"]["path"], timeout=spec["timeoutSeconds"])
            assert answer.status_code == 200, (probe, answer.text)
    finally:
        process.terminate()
        process.wait(20)
        log.close()
