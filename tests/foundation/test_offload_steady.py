"""The app sets the worker pool's steady size for its database at start (issue 16)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway import offload
from gateway.app import create_app
from gateway.settings import Settings
from gateway.wiring.runtime import POSTGRESQL_OFFLOAD_THREADS, SQLITE_OFFLOAD_THREADS


def test_the_database_sets_the_steady_size(settings: Settings) -> None:
    offload.set_steady_threads(17)
    app = create_app(settings)
    app.state.runtime.keys.ensure()
    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
        expected = (
            POSTGRESQL_OFFLOAD_THREADS
            if app.state.runtime.db.is_postgresql
            else SQLITE_OFFLOAD_THREADS
        )
        assert offload.steady_threads() == expected
        if app.state.runtime.db.is_postgresql:
            # Plans never need overflow connections, and the audit writer and the
            # checkpointer still find one in the pool.
            assert app.state.runtime.db.engine.pool.size() >= POSTGRESQL_OFFLOAD_THREADS + 2


def test_the_setting_overrides_it(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"offload_threads": 7}))
    with TestClient(app):
        assert offload.steady_threads() == 7


def test_the_setting_is_bounded() -> None:
    for wrong in ("0", "41", "many"):
        with pytest.raises(ValueError, match="offload_threads"):
            Settings(offload_threads=wrong)
