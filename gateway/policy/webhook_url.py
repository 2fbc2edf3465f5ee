"""Where a consent webhook may point: https to a public address, never into our own network.

The gateway POSTs each consent notice with a bearer token it signed to the URL
an OM party names in the covenant. Unchecked, a covenant could aim that at the
cloud metadata service (``169.254.169.254``), a database on ``127.0.0.1:5432``
or anything else the gateway can reach (blind SSRF), and in clear text. So the
URL must be https, and its host no loopback, private, link-local, unspecified,
multicast or otherwise non-global address: checked when the covenant loads
(literal addresses, ``localhost``) and again for every delivery on the
addresses the name resolves to (``gateway.consent.webhook``), since DNS can
point a public-looking name anywhere.

Dev mode (``KETENPOORT_DEV_MODE``, as the demo and the tests run) alone may
use http or https to a loopback host: the OM's system is then on 127.0.0.1.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from gateway.policy.document import SourceDocument
from gateway.policy.errors import Finding
from gateway.policy.models import Covenant

Address = IPv4Address | IPv6Address


def address_refused(address: Address, *, dev_mode: bool) -> bool:
    """Whether a webhook may not be sent to ``address`` (an IPv4-mapped IPv6 counts as IPv4)."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if dev_mode and address.is_loopback:
        return False
    return not address.is_global or address.is_multicast


def _loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def _literal(host: str) -> Address | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def url_problem(url: str, *, dev_mode: bool) -> str | None:
    """What is wrong with ``url`` as a webhook target, or ``None``; no DNS is asked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    address = _literal(host)
    loopback = _loopback_name(host) or (address is not None and address.is_loopback)
    if dev_mode and loopback:
        return None
    if parts.scheme != "https":
        return "must use https (plain http only to a loopback address, in dev mode)"
    if loopback or (address is not None and address_refused(address, dev_mode=dev_mode)):
        return (
            f"points to a non-public address ({host}): loopback, private and link-local are refused"
        )
    return None


def check_webhooks(doc: SourceDocument, cov: Covenant, *, dev_mode: bool) -> list[Finding]:
    """An error, with its line, for every party's ``consent_webhook.url`` that is refused."""
    problems: list[Finding] = []
    for index, party in enumerate(cov.parties):
        if party.consent_webhook is None:
            continue
        problem = url_problem(party.consent_webhook.url, dev_mode=dev_mode)
        if problem is not None:
            problems.append(
                doc.problem(
                    ("parties", index, "consent_webhook", "url"), f"consent_webhook.url {problem}"
                )
            )
    return problems
