"""Wire the web layer into the app: server-side sessions, login, dev IdP, pages, static files.

``create_app`` calls :func:`install_web` once; /privacy, /ovj and /mijn are
routers added here, all sharing the one login and the one shell.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.audit.keyfiles import KeyFileError, load_or_create_secret
from gateway.auth.web_sessions import SessionStore
from gateway.rights.overdue import watch_overdue
from gateway.settings import Settings
from gateway.web import devidp, login
from gateway.web.landing import build_router as build_landing_router
from gateway.web.mijn.routes import build_router as build_mijn_router
from gateway.web.ovj.routes import build_router as build_ovj_router
from gateway.web.privacy.routes import build_router as build_privacy_router
from gateway.web.rapportage.routes import build_router as build_rapportage_router
from gateway.web.session import CsrfFailed, LoginRequired, RoleMissing
from gateway.web.session_middleware import SESSION_COOKIE
from gateway.web.templating import STATIC_DIR, render
from gateway.web.web_layers import WebLayers

SESSION_SECRET_NAME = "session.key"  # noqa: S105 (a file name)
__all__ = ["SESSION_COOKIE", "OidcMisconfigured", "install_web"]


class OidcMisconfigured(ValueError):
    def __init__(self) -> None:
        super().__init__("KETENPOORT_OIDC_CLIENT_SECRET is required with KETENPOORT_OIDC_ISSUER")


SECRET_RETRY_S = 60.0


def session_secret_path(settings: Settings) -> Path:
    return settings.session_secret_file or settings.key_dir / "web" / SESSION_SECRET_NAME


def open_session_secret(settings: Settings) -> bytes:
    """The web session secret (made on first use); a :class:`KeyFileError` names the file.

    ``ketenpoort serve`` calls this before it listens, so a wrong passphrase or a
    damaged file stops the start (exit 2) instead of quietly logging nobody in.
    """
    path = session_secret_path(settings)
    passphrase = settings.key_passphrase
    try:
        return load_or_create_secret(
            path,
            passphrase=passphrase.get_secret_value() if passphrase else None,
            dev_mode=settings.dev_mode,
        )
    except KeyFileError as error:
        raise KeyFileError(f"web session secret {path}: {error}") from None


def session_store_factory(app: FastAPI, settings: Settings) -> Callable[[], SessionStore]:
    """The session store, built on first use: an app never served writes no key file.

    The secret is sealed with ``KETENPOORT_KEY_PASSPHRASE`` outside dev mode
    (same format as the vault key, gateway/audit/keyfiles.py). A secret that
    cannot be opened is tried again at most every ``SECRET_RETRY_S``: opening
    it costs a scrypt derivation, and every request carrying a cookie asks, so
    without the pause anyone could burn CPU by sending cookies while the file
    is broken (review-auth).
    """
    lock = threading.Lock()
    built: list[SessionStore] = []
    failed: list[tuple[float, KeyFileError]] = []

    def build() -> SessionStore:
        with lock:
            if built:
                return built[0]
            if failed and time.monotonic() - failed[0][0] < SECRET_RETRY_S:
                raise failed[0][1]
            try:
                secret = open_session_secret(settings)
            except KeyFileError as error:
                failed[:] = [(time.monotonic(), error)]
                raise
            failed.clear()
            runtime = app.state.runtime
            built.append(
                SessionStore(
                    runtime.db,
                    secret,
                    idle_s=settings.session_idle_s,
                    absolute_s=settings.session_absolute_s,
                )
            )
            return built[0]

    return build


def _issuer(settings: Settings) -> str | None:
    if settings.oidc_issuer:
        return settings.oidc_issuer
    if settings.dev_mode:
        return settings.base_url + devidp.provider.PREFIX
    return None


def _oidc_config(settings: Settings) -> login.OidcClientConfig | None:
    """Reads the dev client secret file, so call it on first login, not at startup."""
    redirect_uri = settings.base_url + login.CALLBACK_PATH
    if settings.oidc_issuer:
        if settings.oidc_client_secret is None:
            raise OidcMisconfigured()
        return login.OidcClientConfig(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            redirect_uri=redirect_uri,
        )
    if settings.dev_mode:
        return login.OidcClientConfig(
            issuer=settings.base_url + devidp.provider.PREFIX,
            client_id=settings.oidc_client_id,
            client_secret=devidp.keys.dev_client_secret(settings.key_dir),
            redirect_uri=redirect_uri,
        )
    return None


def _install_handlers(app: FastAPI) -> None:
    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(
            request.url_for("web-login").include_query_params(next=exc.next_path), 303
        )

    async def on_role_missing(request: Request, exc: Exception) -> Response:
        message = "U heeft niet de rol die nodig is voor deze pagina."
        return render(request, "forbidden.html", {"message": message}, status_code=403)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        message = "Het formulier is verlopen of niet op deze site ingevuld. Probeer het opnieuw."
        return render(request, "forbidden.html", {"message": message}, status_code=403)

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(RoleMissing, on_role_missing)
    app.add_exception_handler(CsrfFailed, on_csrf)


def install_web(app: FastAPI, settings: Settings) -> None:
    """Add the session middleware and every web route to ``app``; touches no file yet."""
    if settings.oidc_issuer and settings.oidc_client_secret is None:
        raise OidcMisconfigured()
    # Session and error pages, not on a cookie-less API request (gateway/web/web_layers.py).
    app.add_middleware(
        WebLayers,
        store=session_store_factory(app, settings),
        https_only=settings.base_url.startswith("https://"),
    )
    app.state.web_settings = settings
    app.state.oidc_issuer = _issuer(settings)
    config: Callable[[], login.OidcClientConfig | None] = cache(lambda: _oidc_config(settings))

    @cache
    def oauth() -> Any:
        found = config()
        return login.build_oauth(found) if found else None

    redirect_uri = settings.base_url + login.CALLBACK_PATH
    app.include_router(login.build_router(oauth, redirect_uri))
    if settings.dev_mode and not settings.oidc_issuer:

        @cache
        def dev_client() -> devidp.provider.DevClient:
            secret = devidp.keys.dev_client_secret(settings.key_dir)
            return devidp.provider.DevClient(settings.oidc_client_id, secret, redirect_uri)

        issuer = settings.base_url + devidp.provider.PREFIX
        keys = cache(lambda: devidp.DevIdpKeys.load_or_create(settings.key_dir))
        app.include_router(devidp.build_router(issuer, dev_client, keys))
    app.include_router(build_landing_router(settings))
    app.include_router(build_privacy_router())
    app.include_router(build_mijn_router())
    app.include_router(build_ovj_router())
    app.include_router(build_rapportage_router())
    watch_overdue(app.state.runtime.overdue)  # the gauge counts this runtime's requests
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")
    _install_handlers(app)
