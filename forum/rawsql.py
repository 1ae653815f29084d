"""For the few hot statements written in SQL rather than the ORM: a cursor that keeps them prepared, and model
instances from their rows."""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


@functools.lru_cache(maxsize=64)
def _plan(model, names: tuple[str, ...], vendor: str) -> tuple:
    """For each column in `names`, its place in from_db's order and the ORM's converters for it."""
    # Cached per vendor, so the converters are bound to the first connection that asked; they read only what
    # every connection of a vendor shares (the settings' time zone), and are handed the current one when run.
    converters = []
    for name in names:
        field = model._meta.get_field(name)
        column = field.get_col(model._meta.db_table)
        # The ORM's own converters: SQLite, for one, hands dates and JSON back as text.
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        converters.append((tuple(found), column))
    attnames = [f.attname for f in model._meta.concrete_fields]
    ordered = tuple(sorted(range(len(names)), key=lambda i: attnames.index(names[i])))  # from_db's order
    return tuple(converters), ordered, tuple(names[i] for i in ordered)


def from_row(model, names: tuple[str, ...], values) -> Model:
    """An instance of `model` from a raw cursor's row of these columns (attnames); the rest load if asked for."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks the thread's one up
    converters, ordered, attnames = _plan(model, tuple(names), db.vendor)
    values = list(values)
    if len(values) != len(names):
        raise ValueError(f"{len(values)} values for {len(names)} columns of {model.__name__}")
    for i, (found, column) in enumerate(converters):
        for convert in found:
            values[i] = convert(values[i], column, db)
    return model.from_db(db.alias, attnames, [values[i] for i in ordered])


def saved(instance: Model, pk: int) -> Model:
    """Mark an instance whose row a raw statement wrote as the ORM marks a saved one, with that row's id."""
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias
    return instance


def table(model) -> str:
    """The model's table name, quoted for the database."""
    return connection.ops.quote_name(model._meta.db_table)


def inserted_id(cursor, sql: str, params: list) -> int | None:
    """Run an INSERT of at most one row (`sql` without RETURNING) on `cursor`; the new row's id, None for none."""
    if connection.features.can_return_columns_from_insert:
        cursor.execute(f"{sql} RETURNING id", params)
        row = cursor.fetchone()
        return None if row is None else row[0]
    cursor.execute(sql, params)  # SQLite before 3.35 has no RETURNING
    return cursor.lastrowid if cursor.rowcount else None


def columns(model, alias: str) -> tuple[tuple[str, ...], str]:
    """Every concrete column of `model` (attnames) and their SELECT list qualified by the table `alias`."""
    names = tuple(f.attname for f in model._meta.concrete_fields)
    quoted = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields)
    return names, quoted


def prepared_cursor(using: str = DEFAULT_DB_ALIAS):
    """A cursor whose statements PostgreSQL keeps prepared on the connection (a plain cursor on SQLite)."""
    # The hot writes' statements were planned afresh on every request, and planning cost the database more
    # than running them. Only these are prepared: the ORM's reads stay bound on the client, where a generic
    # plan could not serve a skewed filter (one prolific author) as the plan for its own value does.
    db = connections[using]  # once, as in from_row
    if db.vendor != "postgresql":
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    if db.connection.prepare_threshold is None:  # DATABASE_PREPARED_STATEMENTS=0
        return db.cursor()
    db.validate_thread_sharing()
    prepared, logged = _prepared_classes()
    with db.wrap_database_errors:
        raw = prepared(db.connection)
    # Wrapped as Django wraps its own cursors, so errors map the same way and the query log counts it.
    return logged(raw, db) if db.queries_logged else db.make_cursor(raw)


@functools.cache
def _prepared_classes():
    from django.db.backends.postgresql.base import ServerBindingCursor  # only where psycopg is in use
    from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

    class PreparedCursor(ServerBindingCursor):
        """Parameters bound on the server, the statement prepared on its first use on the connection."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    class LoggedPreparedCursor(CursorDebugWrapper):
        """Django's query log for a prepared cursor: psycopg keeps no text of a prepared statement's run where
        the log looks, so it logs the SQL with its parameters bound in, as Django does for server binding."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
                return CursorWrapper.execute(self, sql, params)

    return PreparedCursor, LoggedPreparedCursor
