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

An IPv6 address that carries an IPv4 address is judged by what it reaches:
IPv4-mapped (``::ffff:0:0/96``) and NAT64 (``64:ff9b::/96``, RFC 6052) by the
embedded IPv4 address; the other translation and tunnel forms (local-use NAT64
``64:ff9b:1::/48``, SIIT ``::ffff:0:0:0/96``, IPv4-compatible ``::/96``, 6to4
``2002::/16``, Teredo ``2001::/32``) are refused outright: a gateway or relay
unwraps them to an IPv4 address we would otherwise refuse, and no OM needs them.
A host whose last label is numeric (``0x7f000001``, ``2130706433``, ``127.1``,
``0177.0.0.1``) is no DNS name: the resolver reads it as an IPv4 address, so
anything but a plain dotted quad is refused when the covenant loads.

Dev mode (``KETENPOORT_DEV_MODE``, as the demo and the tests run) alone may
use http or https to a loopback host: the OM's system is then on 127.0.0.1.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

from gateway.policy.document import SourceDocument
from gateway.policy.errors import Finding
from gateway.policy.models import Covenant

Address = IPv4Address | IPv6Address

_NAT64 = IPv6Network("64:ff9b::/96")
_TRANSLATED = tuple(
    IPv6Network(prefix)
    for prefix in ("64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96", "2002::/16", "2001::/32")
)
# The last label of a DNS name is never all digits nor hex (RFC 3696 s2); a resolver
# (inet_aton) reads such a host as an IPv4 address in one of its short forms.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def _reached(address: Address) -> Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64), itself, or None if refused."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    if address != IPv6Address("::1") and any(address in net for net in _TRANSLATED):
        return None
    return address


def address_refused(address: Address, *, dev_mode: bool) -> bool:
    """Whether a webhook may not be sent to ``address``; an IPv6 address carrying an
    IPv4 one is judged by that (mapped, NAT64) or refused (the other translations)."""
    reached = _reached(address)
    if reached is None:
        return True
    address = reached
    if dev_mode and address.is_loopback:
        return False
    return not address.is_global or address.is_multicast


def _loopback_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def _literal(host: str) -> Address | None:
    try:
        return ip_address(host.rstrip("."))
    except ValueError:
        return None


def _numeric_name(host: str) -> bool:
    """Not a literal, but read as an IPv4 address by the resolver (``127.1``, ``0x7f000001``)."""
    return _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]) is not None


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
    if address is None and _numeric_name(host):
        return f"has a numeric host that is not a dotted-quad IPv4 address ({host})"
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
