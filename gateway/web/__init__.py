"""Web pages for humans: the shared shell, OIDC login, the dev IdP and /privacy.

Routers stay thin: pages call the capabilities' services in-process and render
Dutch templates; nothing here knows how the audit log is stored.
"""

from gateway.web.mount import install_web

__all__ = ["install_web"]
