"""The connection of a session's transaction, without the Session's bookkeeping each time.

Core statements on the query path run on ``session.connection()``: same
transaction, same locks as the session's own work. But each call walks the
Session's bind lookup and its transaction state machine, ~22 Python calls,
and one brokered query asked for it nine times for the same transaction.

A Session bound to a connection (:meth:`Database.transaction
<gateway.storage.db.Database.transaction>`) runs all its work on that
connection: it is the answer, without asking the Session anything (and without
making it begin an ORM transaction). For any other Session the answer is asked
once per root transaction and remembered in ``session.info`` next to that
transaction; a commit, a rollback or a closed session begins a new root
transaction, which asks again.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

_KEY = "ketenpoort.connection_of"


def connection_of(session: Session) -> Connection:
    """``session.connection()``, remembered for the session's current root transaction."""
    bind = session.bind
    if isinstance(bind, Connection):
        return bind
    transaction = session.get_transaction()
    if transaction is not None:
        held = session.info.get(_KEY)
        if held is not None and held[0] is transaction and transaction.is_active:
            connection: Connection = held[1]
            return connection
    connection = session.connection()
    session.info[_KEY] = (session.get_transaction(), connection)
    return connection
