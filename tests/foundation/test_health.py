"""Health endpoints on both backends, and readiness failing closed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from gateway.app import create_app
from gateway.settings import Settings


def test_live_and_ready(settings: Settings) -> None:
    app = create_app(settings)
    app.state.runtime.keys.ensure()
    with TestClient(app) as client:
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "key_store": "ok"}


def test_ready_fails_without_key_store(settings: Settings) -> None:
    """No signing keys (``serve`` makes them before listening): not ready."""
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["check"] == "key_store"


def test_ready_fails_when_schema_is_behind(settings: Settings) -> None:
    app = create_app(settings)
    app.state.runtime.keys.ensure()
    with app.state.runtime.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    with TestClient(app) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["check"] == "schema"


def test_ready_fails_when_database_is_gone(tmp_path: object) -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none", db_timeout_s=1, key_dir=str(tmp_path)
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["check"] == "database"
    assert "nobody" not in response.text
