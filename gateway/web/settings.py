"""Settings for human login and the web pages, until the lead merges them into
:class:`gateway.settings.Settings` (same ``KETENPOORT_`` prefix, so the
environment variables stay valid after the merge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """``KETENPOORT_OIDC_*`` and ``KETENPOORT_SESSION_*``."""

    model_config = SettingsConfigDict(env_prefix="KETENPOORT_", extra="ignore", frozen=True)

    oidc_issuer: str | None = Field(
        default=None,
        description=(
            "OIDC provider issuer URL for human login. Unset in dev mode: the built-in "
            "development provider at <base_url>/dev-idp."
        ),
    )
    oidc_client_id: str = Field(
        default="ketenpoort-web", description="Client id registered at the OIDC provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="Client secret at the OIDC provider (dev mode: generated for the dev IdP).",
    )
    session_secret_file: Path | None = Field(
        default=None,
        description="File with the session-cookie signing secret; default <key_dir>/web/session.",
    )
    session_idle_s: Annotated[int, Field(gt=60, le=86_400)] = Field(
        default=1800, description="A session cookie expires after this long without use."
    )
    session_absolute_s: Annotated[int, Field(gt=60, le=86_400)] = Field(
        default=8 * 3600, description="A login ends this long after it began, used or not."
    )

    @field_validator("oidc_issuer")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None
