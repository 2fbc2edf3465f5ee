"""A consent webhook URL is https to a public address; loopback http in dev mode only (review F6).

The gateway POSTs each consent notice with a bearer token it signed to this
URL. Before, any string loaded without a word: ``http://169.254.169.254/...``
(cloud metadata), ``http://127.0.0.1:5432`` (the database), plain http.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.policy.errors import Finding
from gateway.policy.loader import scan_policy_dir
from gateway.policy.webhook_url import url_problem

REFUSED_EVERYWHERE = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "https://192.168.1.10/hook",
    "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",
    "http://10.0.0.5:8080/hook",
    "https://user:secret@om.example.nl/hook",
    "ftp://om.example.nl/hook",
    # IPv6 forms that carry an IPv4 address (review F4): NAT64 to the metadata
    # service, local-use NAT64, IPv4-compatible, SIIT, 6to4 and Teredo.
    "https://[64:ff9b::a9fe:a9fe]/hook",
    "https://[64:ff9b:1::a00:5]:5432/hook",
    "https://[::7f00:1]/hook",
    "https://[::ffff:0:7f00:1]/hook",
    "https://[2002:a00:1::1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
    # Hosts the resolver reads as an IPv4 address (review F4).
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://0xa9.0xfe.0xa9.0xfe/hook",
    "https://10.0.0.5./hook",
]
LOOPBACK = [
    "http://127.0.0.1:5432",
    "https://127.0.0.1:5432/",
    "http://127.1.2.3/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "http://localhost:8080/hook",
    "https://api.localhost/hook",
]
CLEARTEXT = ["http://om.example.nl/hook", "http://93.184.215.14/hook"]
ALLOWED = [
    "https://om.example.nl/consent",
    "https://om.example.nl:8443/hook",
    "https://93.184.215.14/",
    "https://[64:ff9b::5db8:d70e]/",  # NAT64 of 93.184.215.14: an IPv6-only OM network
    "https://1e100.example/",  # a digit-led label is a name when the last one is not
]


def _with_hook(url: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        om = next(party for party in data["parties"] if party["id"] == "om-demo")
        om["consent_webhook"] = {"url": url, "timeout_s": 2}

    return change


def _webhook_errors(policy_dir: Path, dev_mode: bool) -> list[Finding]:
    policy_set, problems = scan_policy_dir(policy_dir, require_keys=False, dev_mode=dev_mode)
    errors = [p for p in problems if p.severity == "error"]
    assert (policy_set is None) == bool(errors)
    return errors


def _url_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip().startswith("url:"))


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE + LOOPBACK + CLEARTEXT)
def test_a_refused_webhook_url_is_an_error_at_its_line(
    policy_dir: Path, write_demo: Callable[..., Path], url: str
) -> None:
    path = write_demo(_with_hook(url))
    errors = _webhook_errors(policy_dir, dev_mode=False)
    assert [(p.file, p.line) for p in errors] == [(path, _url_line(path))], errors
    assert "consent_webhook.url" in errors[0].message


@pytest.mark.parametrize("url", REFUSED_EVERYWHERE)
def test_dev_mode_refuses_every_non_loopback_internal_address(
    policy_dir: Path, write_demo: Callable[..., Path], url: str
) -> None:
    write_demo(_with_hook(url))
    assert _webhook_errors(policy_dir, dev_mode=True)


@pytest.mark.parametrize(
    ("url", "dev_mode"),
    [(url, True) for url in LOOPBACK] + [(url, dev) for url in ALLOWED for dev in (False, True)],
)
def test_https_to_a_public_host_and_loopback_in_dev_mode_are_allowed(
    policy_dir: Path, write_demo: Callable[..., Path], url: str, dev_mode: bool
) -> None:
    write_demo(_with_hook(url))
    assert not _webhook_errors(policy_dir, dev_mode=dev_mode)


def test_an_unknown_webhook_key_is_a_schema_error(
    policy_dir: Path, write_demo: Callable[..., Path]
) -> None:
    def change(data: dict[str, Any]) -> None:
        _with_hook("https://om.example.nl/hook")(data)
        om = next(party for party in data["parties"] if party["id"] == "om-demo")
        om["consent_webhook"]["verify_tls"] = False

    write_demo(change)
    errors = _webhook_errors(policy_dir, dev_mode=False)
    assert any("verify_tls" in p.message for p in errors)


def test_a_broken_url_is_a_problem_not_an_exception() -> None:
    assert url_problem("https://[::1/hook", dev_mode=False) == "not a valid URL"
    assert url_problem("https://om.example.nl:99999/", dev_mode=False) == "not a valid URL"
