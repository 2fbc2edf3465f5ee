"""Federation: Ketenpoort instances of different regions asking each other, without a hub.

See docs/federation.md. The `gateway` connector (connectors/gateway.py) forwards
queries; this package holds the peer token client, the peer-side federation
calls (mirror cases, "known here?") and the local "known elsewhere?" fan-out.
"""
