"""The address a request really came from, for throttling and the audit log.

Behind the reverse proxy every request arrives from the proxy's address, so
keying anything on the peer would lump all clients together (one flood locks
everybody out). ``X-Forwarded-For`` is believed only when the peer is one of
the configured trusted proxies (``KETENPOORT_TRUSTED_PROXIES``); the client is
then the right-most address in the chain that is not itself a trusted proxy.
Anyone else can write whatever they like into that header, so from an
untrusted peer it is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network
_Address = IPv4Address | IPv6Address


def _parse(text: str) -> _Address | None:
    value = text.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(address: _Address, proxies: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def real_client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]
) -> str:
    """The client's address as text; ``"-"`` when even the peer is unknown.

    ``forwarded_for`` holds the raw ``X-Forwarded-For`` header values in order.
    A malformed entry ends the walk at the last address we could trust, so a
    garbage header never picks an address the attacker chose.
    """
    if not peer:
        return "-"
    current = _parse(peer)
    if current is None:
        return peer
    if not proxies or not _trusted(current, proxies):
        return str(current)
    chain = [item for value in forwarded_for for item in value.split(",") if item.strip()]
    for entry in reversed(chain):
        hop = _parse(entry)
        if hop is None:
            return str(current)
        current = hop
        if not _trusted(current, proxies):
            return str(current)
    return str(current)
