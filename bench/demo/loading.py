"""Rows into a model's table, fast: binary COPY on PostgreSQL, executemany on SQLite; ids handed out first.

Rows are tuples in the order of the columns named (attnames). Times in them are integer microseconds since
2000-01-01 UTC, PostgreSQL's own binary form of a timestamptz, so COPY sends them as they are: no datetime is
made for each of millions of votes. Columns left out get the field's default, or its database default.
"""

import datetime
import itertools
from array import array
from contextlib import contextmanager, nullcontext

from django.db import connection, models, reset_queries, transaction

EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
DAY_US = 86_400_000_000
BATCH = 5000
# PostgreSQL types whose binary form psycopg is given as another type's: a timestamptz is an int8 (see
# above), a varchar's bytes are a text's.
SENT_AS = {"timestamptz": "int8", "varchar": "text", "bpchar": "text"}


def micros(moment: datetime.datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(us: int) -> datetime.datetime:
    return EPOCH + datetime.timedelta(microseconds=us)


def day(us: int) -> datetime.date:
    """The UTC day of a time in microseconds."""
    return EPOCH.date() + datetime.timedelta(days=us // DAY_US)


def chunks(iterable, size: int = BATCH):
    """Lists of up to `size` items, so a generator of rows is never held whole in memory."""
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def reserve_ids(model, count: int):
    """`count` new primary keys of `model`, for rows that name each other before they are written."""
    table, pk = model._meta.db_table, model._meta.pk.column
    if not count:
        return array("q")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # From the table's own sequence, so concurrent inserts can never take the same ids.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return array("q", (given for (given,) in cursor.fetchall()))
        # SQLite: the caller's write transaction (BEGIN IMMEDIATE) holds the database until these are inserted;
        # they follow the highest id ever given, as AUTOINCREMENT would go on.
        cursor.execute(f"SELECT max({connection.ops.quote_name(pk)}) FROM {connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        given = cursor.fetchone()
        first = max(highest, given[0] if given else 0) + 1
        return range(first, first + count)


def _defaults(model, columns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    """The model's other columns that need a value from Python (no database default), and those values."""
    names, values = [], []
    for f in model._meta.concrete_fields:
        if f.attname in columns or f.primary_key or f.generated or f.db_default is not models.NOT_PROVIDED:
            continue
        value = f.get_default()
        names.append(f.attname)
        values.append(micros(value) if isinstance(value, datetime.datetime) else value)
    return tuple(names), tuple(values)


def load(model, columns: tuple[str, ...], rows, *, count: int, rebuild=False, progress=None, copy=None) -> None:
    """Insert `rows` (about `count` of them) into `model`'s table in one transaction, calling progress(n).
    COPY on PostgreSQL unless `copy` says otherwise; `rebuild` allows _without_indexes for it."""
    extra, values = _defaults(model, columns)
    if extra:
        rows = (row + values for row in rows)
    columns = (*columns, *extra)
    with transaction.atomic(), connection.cursor() as cursor:
        if not (connection.vendor == "postgresql" if copy is None else copy):
            _executemany(cursor, model, columns, rows, progress)
            return
        table = connection.ops.quote_name(model._meta.db_table)
        if rebuild:
            # Building the indexes again costs rows already there: worth it when the load at least doubles them.
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS head", [count + 1])
            rebuild = cursor.fetchone()[0] <= count
        with _without_indexes(cursor, model._meta.db_table) if rebuild else nullcontext():
            _copy(cursor, model._meta.db_table, columns, rows, progress)


def _copy(cursor, table: str, columns: tuple[str, ...], rows, progress) -> None:
    cursor.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        [table],
    )
    types = dict(cursor.fetchall())
    sent = [SENT_AS.get(types[c], types[c]) for c in columns]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN (FORMAT BINARY)"
    with cursor.cursor.copy(sql) as copy:
        copy.set_types(sent)
        write = copy.write_row
        for batch in chunks(rows):
            for row in batch:
                write(row)
            if progress:
                progress(len(batch))


# Fields whose values go to the database as the rows hold them: ints, floats, strings, booleans (and keys to them).
AS_THEY_ARE = (models.IntegerField, models.FloatField, models.CharField, models.TextField, models.BooleanField)


def _executemany(cursor, model, columns: tuple[str, ...], rows, progress) -> None:
    fields = {f.attname: f for f in model._meta.concrete_fields}

    def prepare(f):
        if isinstance(f, models.DateTimeField):
            return lambda us: None if us is None else f.get_db_prep_save(moment(us), connection)
        return lambda value: f.get_db_prep_save(value, connection)

    def as_they_are(f):
        return isinstance(f.target_field if f.is_relation else f, AS_THEY_ARE)

    # Only the other columns are converted, value by value: this runs for every cell of every row.
    converted = [(i, prepare(fields[c])) for i, c in enumerate(columns) if not as_they_are(fields[c])]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    table, marks = connection.ops.quote_name(model._meta.db_table), ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    for batch in chunks(rows):
        params = [list(row) for row in batch]
        for values in params:
            for i, prepared in converted:
                values[i] = prepared(values[i])
        cursor.executemany(sql, params)
        reset_queries()  # with DEBUG on, Django keeps every statement: a batch is megabytes of SQL
        if progress:
            progress(len(batch))


@contextmanager
def _without_indexes(cursor, table: str):
    """The table without its secondary indexes, unique constraints and foreign keys, then with them again."""
    # COPY into an indexed table updates every index and checks every foreign key row by row. 5M votes
    # measured here: 16 s into the bare table, 70 s more with its indexes, 76 s more with its keys; building
    # the indexes and checking the keys once afterwards took 8 s. All of it runs in the caller's transaction,
    # so nobody sees the table without them and a failure (or a crash) leaves the schema as it was; they are
    # made again from their own definitions. The primary key, indexes other tables' keys rely on, check
    # constraints and triggers stay.
    qn = connection.ops.quote_name
    # ALTER TABLE refuses a table with deferred checks still pending: run them now.
    connection.check_constraints()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = %s::regclass "
        "AND (c.contype = 'f' OR c.contype = 'u' AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)) "
        "ORDER BY c.contype DESC, c.conname",  # unique ones first: made again in this order
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY 1",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    connection.check_constraints()
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
