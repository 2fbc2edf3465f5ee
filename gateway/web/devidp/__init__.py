"""A small OpenID Connect provider for the embedded default, DEVELOPMENT ONLY.

It lets a developer log in as a demo FG, OvJ or person without an external
identity provider. It is mounted only when ``settings.dev_mode`` is true and
supports just what the gateway's own login uses: the authorization code flow
(OpenID Connect Core 1.0 §3.1) with PKCE S256 (RFC 7636), ``client_secret_basic``
or ``client_secret_post``, and ES256-signed ID tokens.
"""

from gateway.web.devidp.keys import DevIdpKeys
from gateway.web.devidp.provider import build_router
from gateway.web.devidp.users import DEMO_USERS, DemoUser

__all__ = ["DEMO_USERS", "DemoUser", "DevIdpKeys", "build_router"]
