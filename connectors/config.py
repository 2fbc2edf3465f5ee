"""The typed `source:` block of a covenant party (POLICY.md): one model per source type.

These models are the one source configuration from covenant to connector: the
policy loader validates the covenant into them (``gateway.policy.models``
embeds them in ``Party``) and ``build_connector`` takes them as they are, so a
source is validated once, by the JSON Schema and these types, and never again
from a dict. They live here, not in ``gateway.policy``, so that connectors
need nothing from the gateway's policy package.

``timeout_s`` stays ``None`` when the covenant sets none: the gateway then
applies ``KETENPOORT_SOURCE_TIMEOUT_S`` (``Settings.source_timeout_s``), whose
default is :data:`DEFAULT_SOURCE_TIMEOUT_S`, the one home of that number.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SOURCE_TIMEOUT_S = 2.0
"""How long one source may take when neither the covenant nor the settings say."""

MAX_SOURCE_TIMEOUT_S = 60.0
"""The covenant schema's and the setting's upper bound on a source timeout."""

# Strict: a YAML `true` is no timeout; ints are still accepted as seconds.
SourceTimeout = Annotated[float, Field(gt=0, le=MAX_SOURCE_TIMEOUT_S, strict=True)]
NonEmpty = Annotated[str, Field(min_length=1)]


class _SourceModel(BaseModel):
    # extra="ignore": the schema allows `x-` annotations that the gateway does not use.
    model_config = ConfigDict(frozen=True, extra="ignore")

    timeout_s: SourceTimeout | None = None

    def timeout_or(self, default_s: float) -> float:
        """The covenant's own timeout, else ``default_s`` (the gateway's setting)."""
        return self.timeout_s if self.timeout_s is not None else default_s


class RestSource(_SourceModel):
    """A bronregistratie behind the Source API (SOURCE-API.md)."""

    type: Literal["rest"]
    base_url: NonEmpty
    audience: NonEmpty | None = None
    categories: tuple[str, ...] | None = None

    @property
    def held_categories(self) -> tuple[str, ...] | None:
        return self.categories


class SqlSource(_SourceModel):
    """A partner database: one SELECT per category binding the BSN as ``:bsn``."""

    type: Literal["sql"]
    # The URL may carry the database password: never in a repr, log line or traceback.
    url: NonEmpty = Field(repr=False)
    queries: Annotated[dict[str, str], Field(min_length=1)]
    subject_query: NonEmpty | None = None
    deletions_query: NonEmpty | None = None

    @property
    def held_categories(self) -> tuple[str, ...] | None:
        return tuple(self.queries)


class GatewaySource(_SourceModel):
    """Another Ketenpoort, asked through its partner API (federation)."""

    type: Literal["gateway"]
    base_url: NonEmpty
    jwks_uri: NonEmpty | None = None
    jwks: dict[str, Any] | None = None
    categories: tuple[str, ...] | None = None
    client_id: NonEmpty | None = None
    convenant: NonEmpty | None = None
    purposes: dict[str, str] | None = None

    @property
    def held_categories(self) -> tuple[str, ...] | None:
        return self.categories


SourceConfig = Annotated[RestSource | SqlSource | GatewaySource, Field(discriminator="type")]
"""A party's `source:` block, told apart by its ``type``."""
