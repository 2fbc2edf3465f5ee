"""All configuration in one place, read from ``KETENPOORT_*`` environment variables.

One class so that no module reads ``os.environ`` on its own: what the gateway
can be told is exactly what is listed here (and in the README's table).
"""

from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.config import DEFAULT_SOURCE_TIMEOUT_S, MAX_SOURCE_TIMEOUT_S

DEFAULT_SQLITE_URL = "sqlite:///./var/ketenpoort.db"


class Settings(BaseSettings):
    """Gateway settings; every field maps to ``KETENPOORT_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="KETENPOORT_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_SQLITE_URL,
        description="SQLAlchemy URL; sqlite:///path (embedded) or postgresql://user@host/db.",
    )
    policy_dir: Path = Field(default=Path("policies"), description="Directory of covenant files.")
    key_dir: Path = Field(default=Path("keys"), description="Gateway keys and partner trust store.")
    base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Public base URL: the OAuth issuer and the token audience.",
    )
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318."
    )
    metric_exemplars: bool = Field(
        default=False,
        description="Attach trace-based exemplars to metrics (a span lookup per measurement).",
    )
    dev_mode: bool = Field(
        default=False,
        description="Dev conveniences (plain dev keys, demo login); never in production.",
    )
    key_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase that encrypts private keys at rest (required unless dev mode).",
    )
    source_timeout_s: Annotated[float, Field(gt=0, le=MAX_SOURCE_TIMEOUT_S)] = Field(
        default=DEFAULT_SOURCE_TIMEOUT_S,
        description="Per-source timeout for every source whose covenant entry sets none.",
    )
    db_timeout_s: Annotated[float, Field(gt=0, le=60)] = Field(
        default=5.0, description="How long a database connection or lock may be waited for."
    )
    offload_threads: Annotated[int, Field(ge=1, le=40)] | None = Field(
        default=None,
        description=(
            "How many blocking database jobs run at once on worker threads while they make"
            " progress; more wait in line, and jobs that wait (a lock, the server) get"
            " threads beside them, up to 40."
            " Unset: 4 on SQLite, 8 on PostgreSQL."
        ),
    )
    max_body_bytes: Annotated[int, Field(gt=0)] = Field(
        default=1_048_576, description="Largest request body accepted (413 above)."
    )
    checkpoint_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="How often a signed checkpoint is made when the log grew."
    )
    retention_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=3600.0, description="How often the retention job runs in each serve process."
    )
    peer_rights_interval_s: Annotated[float, Field(gt=0)] = Field(
        default=900.0,
        description="How often each serve process pulls peer regions' outcomes of "
        "forwarded correcties and verzetten (docs/federation.md).",
    )

    # Human login to the web pages (/privacy, /ovj, /mijn): docs/web-login.md.
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
        description=(
            "File with the web session secret (sealed with the key passphrase outside dev "
            "mode); default <key_dir>/web/session.key."
        ),
    )
    session_idle_s: Annotated[int, Field(gt=60, le=86_400)] = Field(
        default=1800, description="A web session ends after this long without use."
    )
    session_absolute_s: Annotated[int, Field(gt=60, le=86_400)] = Field(
        default=8 * 3600, description="A login ends this long after it began, used or not."
    )
    # Reports (docs/reports.md): counts below this are shown as "< N"; 2 is the least allowed.
    report_small_count: Annotated[int, Field(ge=2, le=100)] = Field(
        default=5, description="Report cells with a count under this are shown as '< N'."
    )

    # Edge of the gateway: proxies, hosts, API docs (docs/auth.md, "Behind a reverse proxy").
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or CIDR ranges of reverse proxies whose "
            "X-Forwarded-For is believed; empty: the peer address is the client."
        ),
    )
    allowed_hosts: str = Field(
        default="",
        description=(
            "Comma-separated extra Host names accepted besides the host of base_url "
            "(requests naming any other host get 400)."
        ),
    )
    api_docs: bool = Field(
        default=False,
        description="Serve /docs (Swagger UI from the pinned package) outside dev mode too.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for item in _split(value):
            ip_network(item, strict=False)
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(item, strict=False) for item in _split(self.trusted_proxies))

    @cached_property
    def extra_hosts(self) -> tuple[str, ...]:
        return _split(self.allowed_hosts)

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("oidc_issuer")
    @classmethod
    def _strip_issuer_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The URL with an explicit driver: plain ``postgresql://`` means psycopg 3."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())
