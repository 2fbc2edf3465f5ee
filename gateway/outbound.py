"""The gateway's outbound HTTP clients keep no cookies.

A client shared across partners (peer gateways, token endpoints, JWKS) with an
ordinary cookie jar would carry a cookie that one partner set to every other
partner on the same host name (cookies ignore ports), and back to the first on
every later call: a channel between parties that only the covenant may open,
and state the gateway never meant to hold. None of our exchanges needs one.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy


def cookieless_jar() -> CookieJar:
    """A jar whose policy refuses every cookie, set or sent (no domain is allowed)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
