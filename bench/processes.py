"""Start the benchmark's servers as child processes and wait until they answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from gateway.demo.partners import ensure_partner_keys
from gateway.demo.stack import copy_policies
from gateway.policy.loader import load_policy_dir

REPO = Path(__file__).resolve().parent.parent
REPO_POLICIES = REPO / "policies"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    url: str, timeout_s: float = 30.0, process: subprocess.Popen[str] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {timeout_s} s")


def _python(
    *args: str, env: Mapping[str, str] | None = None, stdin: int | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
    )


def start_sources() -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = _python("-m", "bench.servers", "sources", stdin=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("demo sources did not start")
    urls: dict[str, str] = json.loads(line)
    return process, urls


def prepare_workdir(workdir: Path, source_urls: Mapping[str, str]) -> tuple[Path, Path]:
    """Policies pointing at the running sources, plus partner keys; (policy_dir, key_dir)."""
    policy_dir, key_dir = workdir / "policies", workdir / "keys"
    copy_policies(REPO_POLICIES, policy_dir, source_urls)
    for covenant in load_policy_dir(policy_dir, require_keys=False).covenants:
        ensure_partner_keys(covenant, key_dir)
    return policy_dir, key_dir


def gateway_env(database_url: str, policy_dir: Path, key_dir: Path, port: int) -> dict[str, str]:
    return {
        "KETENPOORT_DATABASE_URL": database_url,
        "KETENPOORT_POLICY_DIR": str(policy_dir),
        "KETENPOORT_KEY_DIR": str(key_dir),
        "KETENPOORT_BASE_URL": f"http://127.0.0.1:{port}",
        "KETENPOORT_DEV_MODE": "true",
    }


def start_gateway(
    env: Mapping[str, str], port: int, profile: Path | None = None
) -> subprocess.Popen[str]:
    extra = ["--profile", str(profile)] if profile is not None else []
    process = _python("-m", "bench.servers", "gateway", "--port", str(port), *extra, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health/ready", 120.0, process=process)
    except BaseException:
        stop(process)  # never leave an orphan serving on a shared box
        raise
    return process


def start_proxy(upstream: str, port: int) -> subprocess.Popen[str]:
    process = _python("-m", "bench.servers", "proxy", "--port", str(port), "--upstream", upstream)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/docs", 120.0, process=process)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    """SIGINT first (lets a profiler write its report), then kill."""
    if process.poll() is not None:
        return
    if process.stdin is not None:
        process.stdin.close()
        try:
            process.wait(timeout_s)
            return
        except subprocess.TimeoutExpired:
            pass
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
