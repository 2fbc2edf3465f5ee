"""Storage: one SQLAlchemy engine per process, schema only through Alembic."""

from gateway.storage.base import Base
from gateway.storage.db import Database, DatabaseUnavailable

__all__ = ["Base", "Database", "DatabaseUnavailable"]
