"""Maintained counters, moved by the services inside their own transactions (never on their own).

Lock order, the same in every write so concurrent writers cannot deadlock: the reply row, then participations
(by primary key), then the stance tallies (by primary key), then daily rows (by stance, then day), then the
thread row, then the topic row. (A declaration of position takes its user's row before all; its position rows,
which only that user's declarations touch, are written after the counters.)
On PostgreSQL the moves from the tallies on are one statement (_in_one_statement), in that same order, and the
rows a write adds beside its counters (a vote, positions, the outbox row) ride it, their ids coming back.
"""

import datetime

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from discussions.models import DailyTally, Participation, Reply, StanceTally, Thread, Topic, Vote
from discussions.ranking import bridging, controversy, wilson_lower_bound
from discussions.summary_cache import summary_invalidate
from forum.rawsql import inserted_id, prepared_cursor

# A tally's or a participation's scope within its topic: (thread id, stance id), None for "all of them".
Scope = tuple[int | None, int | None]


def utc_day(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(datetime.UTC).date()


def _scope_sql(scope: Scope) -> tuple[str, list]:
    conditions, params = [], []
    for column, value in zip(("thread_id", "stance_id"), scope, strict=True):
        if value is None:
            conditions.append(f"{column} IS NULL")
        else:
            conditions.append(f"{column} = %s")
            params.append(value)
    return "(" + " AND ".join(conditions) + ")", params


def _scope_order(scope: Scope) -> tuple:
    """One order for a write's scopes, so concurrent writers meet their rows in the same order."""
    return tuple((v is not None, v or 0) for v in scope)


def _scopes_update_sql(model, base: dict, moves: dict[Scope, dict[str, int]], also: dict, returning=()) -> tuple:
    """One UPDATE adding moves[scope] to each scope's row, locking them in key order: (sql, params)."""
    # Raw SQL because the ORM has no UPDATE ... RETURNING: the one statement both moves the counters and
    # says which rows exist (and, for participations, their new counts). The inner SELECT ... ORDER BY id
    # FOR UPDATE takes the row locks in primary-key order, as the lock order above requires.
    scopes = sorted(moves, key=_scope_order)
    scope_sql = [_scope_sql(scope) for scope in scopes]
    assignments, params = [], []
    for column in sorted({c for change in moves.values() for c in change}):
        amounts = [moves[scope].get(column, 0) for scope in scopes]
        if len(set(amounts)) == 1:
            assignments.append(f"{column} = {column} + %s")
            params.append(amounts[0])
            continue
        cases = []
        for (condition, condition_params), amount in zip(scope_sql, amounts, strict=True):
            cases.append(f"WHEN {condition} THEN %s")
            params += [*condition_params, amount]
        assignments.append(f"{column} = {column} + CASE {' '.join(cases)} ELSE 0 END")
    for column, value in also.items():
        assignments.append(f"{column} = %s")
        params.append(value)
    table = connection.ops.quote_name(model._meta.db_table)
    where = " AND ".join(f"{column} = %s" for column in base)
    params += [*base.values(), *(p for _, condition_params in scope_sql for p in condition_params)]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""  # SQLite: the writer holds the file
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} WHERE id IN (SELECT id FROM {table} WHERE {where} AND "
        f"({' OR '.join(c for c, _ in scope_sql)}) ORDER BY id{lock}) "
        f"RETURNING {', '.join(('thread_id', 'stance_id', *returning))}"
    )
    return sql, params


def _rows_moved(model, base: dict, moves: dict[Scope, dict[str, int]], *, also=None, returning=(), found=None):
    """Add moves[scope] ({column: n}) to the scopes' rows under `base`, creating missing ones; {scope: returned}.

    `found`: the scopes an UPDATE just moved, when the caller ran it.
    """
    # A scope's first row (a user's first reply in a scope; a stance tally from before migration 0016) is
    # inserted already moved. A racing writer may create the same rows: theirs win and are moved like the
    # others. Inserted in the scopes' order: two writers inserting the same keys in different orders each wait
    # on the other's. Stance tallies are born with their topic or thread (tallies_opened) because creating rows
    # while holding found ones can deadlock against racers that find ours.
    also, tried = also or {}, False
    if found is None and connection.vendor == "postgresql":
        # One round trip: the UPDATE, then the INSERT of the rows it did not find, as one statement.
        found, tried = _run_scopes(_upsert_scopes_sql(model, base, moves, also, returning)), True
    elif found is None:
        found = _run_scopes(_scopes_update_sql(model, base, moves, also, returning))
    missing = {scope: change for scope, change in moves.items() if scope not in found}
    if missing and not tried and connection.features.can_return_columns_from_insert:
        found |= _run_scopes(_insert_moved_sql(model, base, missing, also, returning))
        missing = {scope: change for scope, change in missing.items() if scope not in found}
    if missing:
        # The racers' rows; or, on a SQLite without RETURNING, every missing row created at zero, then moved.
        ordered = sorted(missing, key=_scope_order)
        fields = [dict(base, thread_id=thread_id, stance_id=stance_id) for thread_id, stance_id in ordered]
        model.objects.bulk_create([model(**f) for f in fields], ignore_conflicts=True)
        found |= _run_scopes(_scopes_update_sql(model, base, missing, also, returning))
    return found


def _run_scopes(statement: tuple[str, list]) -> dict:
    """Run a statement returning (thread_id, stance_id, *values) rows; {scope: values}."""
    with prepared_cursor() as cursor:  # every reply moves its author's participations with one of a few shapes
        cursor.execute(*statement)
        return {(row[0], row[1]): tuple(row[2:]) for row in cursor.fetchall()}


def _moved_rows(model, base: dict, moves: dict[Scope, dict[str, int]], also: dict, *, typed: bool) -> tuple:
    """The scopes' rows with their moves applied, as a VALUES list in the scopes' order: (columns, sql, params)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # Typed where the VALUES list is a SELECT's: a row's NULL would otherwise leave its column's type unknown.
    places = ", ".join(f"CAST(%s AS {f.db_type(connection)})" if typed else "%s" for f in fields)
    rows, params = [], []
    for thread_id, stance_id in sorted(moves, key=_scope_order):
        row = model(**base, thread_id=thread_id, stance_id=stance_id, **moves[(thread_id, stance_id)])
        for f in fields:
            params.append(
                also[f.column] if f.column in also else f.get_db_prep_save(getattr(row, f.attname), connection)
            )
        rows.append(f"({places})")
    return ", ".join(connection.ops.quote_name(f.column) for f in fields), ", ".join(rows), params


def _insert_moved_sql(model, base: dict, moves: dict[Scope, dict[str, int]], also: dict, returning) -> tuple:
    """One INSERT of the scopes' missing rows with their moves applied, skipping any a racer made: (sql, params)."""
    columns, rows, params = _moved_rows(model, base, moves, also, typed=False)
    table = connection.ops.quote_name(model._meta.db_table)
    returned = ", ".join(("thread_id", "stance_id", *returning))
    return f"INSERT INTO {table} ({columns}) VALUES {rows} ON CONFLICT DO NOTHING RETURNING {returned}", params


def _upsert_scopes_sql(model, base: dict, moves: dict[Scope, dict[str, int]], also: dict, returning) -> tuple:
    """PostgreSQL: _scopes_update_sql, then the INSERT of the scopes it did not find, as one statement."""
    update, update_params = _scopes_update_sql(model, base, moves, also, returning)
    columns, rows, params = _moved_rows(model, base, moves, also, typed=True)
    table = connection.ops.quote_name(model._meta.db_table)
    returned = ", ".join(("thread_id", "stance_id", *returning))
    # The INSERT reads what the UPDATE returned, so it runs after it: the found rows are locked first, in key
    # order, as before; a row a racer made after this statement's snapshot is skipped, and moved by the caller.
    sql = (
        f"WITH moved AS ({update}), added AS (INSERT INTO {table} ({columns}) SELECT * FROM (VALUES {rows}) AS "
        f"v({columns}) WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.thread_id IS NOT DISTINCT FROM v.thread_id "
        f"AND m.stance_id IS NOT DISTINCT FROM v.stance_id) ON CONFLICT DO NOTHING RETURNING {returned}) "
        f"SELECT {returned} FROM moved UNION ALL SELECT {returned} FROM added"
    )
    return sql, [*update_params, *params]


def tallies_opened(*, topic_id: int, stance_ids: list[int], thread_id: int | None = None) -> None:
    """Create the zeroed stance tallies of a new topic (thread None) or a new thread, one per stance."""
    # Nobody else sees the new topic or thread before commit, so these inserts wait on no one, and every
    # later write finds all its tally rows and locks them in one statement, in key order.
    StanceTally.objects.bulk_create(
        [StanceTally(topic_id=topic_id, thread_id=thread_id, stance_id=stance_id) for stance_id in stance_ids]
    )


_DAILY = ("replies", "upvotes", "positions_delta")
_DAILY_COLUMNS = f"topic_id, stance_id, day, {', '.join(_DAILY)}"


def _daily_values(topic_id: int, moves: dict[tuple[int, datetime.date], dict[str, int]]) -> tuple[str, list]:
    """The daily rows' VALUES list, in (stance, day) order (their lock order), and its params."""
    rows, params = [], []
    for (stance_id, day), change in sorted(moves.items()):
        rows.append("(%s, %s, %s, %s, %s, %s)")
        params += [topic_id, stance_id, connection.ops.adapt_datefield_value(day), *(change.get(c, 0) for c in _DAILY)]
    return ", ".join(rows), params


def _daily_on_conflict() -> str:
    table = connection.ops.quote_name(DailyTally._meta.db_table)
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _DAILY)
    return f"ON CONFLICT (topic_id, stance_id, day) DO UPDATE SET {sets}"


def daily_add(*, topic_id: int, moves: dict[tuple[int, datetime.date], dict[str, int]]) -> None:
    """Add to days' activity of the topic's stances, {(stance id, day): {replies|upvotes|positions_delta: n}}."""
    moves = {key: change for key, change in moves.items() if any(change.values())}
    if not moves:
        return
    # One upsert for every row (INSERT ... ON CONFLICT DO UPDATE, on PostgreSQL and SQLite alike); the ORM's
    # bulk_create can only overwrite a conflicting row, not add to it.
    values, params = _daily_values(topic_id, moves)
    table = connection.ops.quote_name(DailyTally._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({_DAILY_COLUMNS}) VALUES {values} {_daily_on_conflict()}", params)


def _row_moved_sql(model, pk: int, *, add: dict[str, int], put: dict | None = None) -> tuple[str, list]:
    """UPDATE one row of `model`: add[column] to its counters, put[column] as their new values; (sql, params)."""
    add = {column: n for column, n in add.items() if n}
    assignments = [f"{column} = {column} + %s" for column in add] + [f"{column} = %s" for column in put or {}]
    table = connection.ops.quote_name(model._meta.db_table)
    return f"UPDATE {table} SET {', '.join(assignments)} WHERE id = %s", [*add.values(), *(put or {}).values(), pk]


def _in_one_statement(
    *, topic_id: int, tallies: dict, also: dict, daily: dict, first, then: list
) -> tuple[set[Scope], list]:
    """PostgreSQL: `first`, the tallies, the daily rows and `then` as one statement; the tally scopes found and
    the id each of `then` wrote.

    The daily rows and `then` move only once every tally row is found, else the caller moves them after
    making the missing rows.
    """
    # The parts of a WITH run in no set order, so each one waits on the rows of the one before: the tallies,
    # then the days, then each of `then`, as the lock order requires. `first` is on a row the caller holds.
    parts, params = [], []
    if first is not None:
        parts.append(f"moved_first AS ({first[0]})")
        params += first[1]
    tally_sql, tally_params = _scopes_update_sql(StanceTally, {"topic_id": topic_id}, tallies, also)
    parts.append(f"moved_tallies AS ({tally_sql})")
    params += tally_params
    after = f"(SELECT count(*) FROM moved_tallies) = {len(tallies)}"
    if daily:
        values, daily_params = _daily_values(topic_id, daily)
        table = connection.ops.quote_name(DailyTally._meta.db_table)
        parts.append(
            f"moved_days AS (INSERT INTO {table} ({_DAILY_COLUMNS}) SELECT * FROM (VALUES {values}) AS v"
            f"({_DAILY_COLUMNS}) WHERE {after} {_daily_on_conflict()} RETURNING 1)"
        )
        params += daily_params
        after += " AND (SELECT count(*) FROM moved_days) >= 0"
    for n, (sql, then_params) in enumerate(then):
        parts.append(f"moved_then{n} AS ({sql} AND {after} RETURNING id)")
        params += then_params
        after += f" AND (SELECT count(*) FROM moved_then{n}) >= 0"
    # The rows `then` inserted (a vote, an outbox row) come back with the tallies: their ids cost no statement.
    ids = "".join(f", (SELECT id FROM moved_then{n})" for n in range(len(then)))
    with prepared_cursor() as cursor:  # every vote, reply and change of position sends one of a few shapes
        cursor.execute(f"WITH {', '.join(parts)} SELECT thread_id, stance_id{ids} FROM moved_tallies", params)
        rows = cursor.fetchall()
    return {(row[0], row[1]) for row in rows}, list(rows[0][2:]) if rows else [None] * len(then)


def _counters_moved(*, topic_id: int, tallies: dict, now, daily=None, first=None, then=()) -> list:
    """Move the topic's stance tallies ({scope: {column: n}}), then its daily rows, then each of `then` (one-row
    UPDATEs or INSERT ... SELECTs as (sql, params), their WHERE last); `first` goes before them, on a row the
    caller holds locked. The id of each of `then`'s rows, in order (None where one wrote none); only an
    INSERT's is meaningful on a SQLite without RETURNING."""
    also = {"updated_at": connection.ops.adapt_datetimefield_value(now)}
    daily = {key: change for key, change in (daily or {}).items() if any(change.values())}
    if connection.vendor == "postgresql" and tallies:
        # One round trip instead of up to five: a write's counter moves in one statement.
        found, ids = _in_one_statement(
            topic_id=topic_id, tallies=tallies, also=also, daily=daily, first=first, then=list(then)
        )
        if len(found) == len(tallies):
            return ids
        first, found = None, dict.fromkeys(found, ())
    else:
        found = None
    with connection.cursor() as cursor:
        if first is not None:
            cursor.execute(*first)
        if tallies:
            _rows_moved(StanceTally, {"topic_id": topic_id}, tallies, also=also, found=found)
        daily_add(topic_id=topic_id, moves=daily)
        return [inserted_id(cursor, *statement) for statement in then]


def _joined(sign: int, replies_after: int) -> int:
    """A participation's move of its scope's participant count: +1 on going 0 → 1, -1 on 1 → 0."""
    return (sign > 0 and replies_after == 1) - (sign < 0 and replies_after == 0)


def reply_counted(
    reply: Reply, sign: int, *, move_reply_counts: bool = True, is_new: bool = False, now=None, then=()
) -> list:
    """Add (sign 1) or take away (sign -1) a reply and its votes in every maintained counter, then run the
    statements of `then` (the reply's outbox row) as _counters_moved does; the ids they wrote."""
    now = now or timezone.now()
    topic_scope, thread_scope = (None, reply.stance_id), (reply.thread_id, reply.stance_id)
    participations = _rows_moved(
        Participation,
        {"topic_id": reply.topic_id, "user_id": reply.author_id},
        {scope: {"replies": sign} for scope in (topic_scope, thread_scope, (None, None), (reply.thread_id, None))},
        returning=("replies",),
    )
    joined = {scope: _joined(sign, after) for scope, (after,) in participations.items()}
    counts = {"replies": sign, "upvotes": sign * reply.upvotes, "downvotes": sign * reply.downvotes}

    daily = {(reply.stance_id, utc_day(reply.created_at)): {"replies": sign}}
    if reply.upvotes:
        by_day = (
            Vote.objects.filter(reply=reply, value=Vote.Value.UP, retracted_at__isnull=True)
            .annotate(day=TruncDate("cast_at"))
            .values_list("day")
            .annotate(n=Count("id"))
        )
        for day, n in by_day:
            daily.setdefault((reply.stance_id, day), {})["upvotes"] = sign * n

    thread_add = {"participant_count": joined[(reply.thread_id, None)]}
    topic_add = {"participant_count": joined[(None, None)]}
    thread_put = {}
    if move_reply_counts:
        thread_add["reply_count"] = topic_add["reply_count"] = sign
        if is_new:  # a restore is not new activity
            thread_put["last_activity_at"] = connection.ops.adapt_datetimefield_value(now)
    rows = []
    if any(thread_add.values()) or thread_put:
        rows.append(_row_moved_sql(Thread, reply.thread_id, add=thread_add, put=thread_put))
    if any(topic_add.values()):
        rows.append(_row_moved_sql(Topic, reply.topic_id, add=topic_add))
    ids = _counters_moved(
        topic_id=reply.topic_id,
        tallies={scope: {**counts, "participants": joined[scope]} for scope in (topic_scope, thread_scope)},
        daily=daily,
        then=[*rows, *then],
        now=now,
    )
    summary_invalidate(reply.topic_id)
    return ids[len(rows) :]


def reply_rerank(reply: Reply, stance_slugs: list[str]) -> None:
    """Recompute the reply's stored rankings from its (already updated) counters."""
    reply.score = reply.upvotes - reply.downvotes
    reply.wilson = wilson_lower_bound(reply.upvotes, reply.downvotes)
    reply.controversy = controversy(reply.upvotes, reply.downvotes)
    reply.bridging = bridging({slug: (v["up"], v["down"]) for slug, v in reply.votes_by_stance.items()}, stance_slugs)


def _reply_counters_sql(reply: Reply) -> tuple[str, list]:
    fields = ("upvotes", "downvotes", "score", "wilson", "controversy", "bridging", "votes_by_stance")
    params = [Reply._meta.get_field(f).get_db_prep_value(getattr(reply, f), connection) for f in fields]
    table = connection.ops.quote_name(Reply._meta.db_table)
    return f"UPDATE {table} SET {', '.join(f'{f} = %s' for f in fields)} WHERE id = %s", [*params, reply.pk]


def votes_moved(reply: Reply, *, up: int, down: int, upvotes_by_day: dict[datetime.date, int], now, then=()) -> list:
    """Write a vote's move: the reply's counters and rankings (as set on `reply`, its row locked), its stance
    tallies and the daily upvotes, then the statements of `then` (a new vote, the outbox row); their ids."""
    scopes = ((None, reply.stance_id), (reply.thread_id, reply.stance_id))
    ids = _counters_moved(
        topic_id=reply.topic_id,
        tallies={scope: {"upvotes": up, "downvotes": down} for scope in scopes} if up or down else {},
        daily={(reply.stance_id, day): {"upvotes": n} for day, n in upvotes_by_day.items()},
        first=_reply_counters_sql(reply),
        then=then,
        now=now,
    )
    summary_invalidate(reply.topic_id)
    return ids


def positions_moved(*, topic_id: int, moves: dict[int, int], shifted: bool, now, then=()) -> list:
    """Count users taking (+1) or leaving (-1) positions on the topic ({stance id: change}); `shifted`: one
    of them changed sides, a shift in the topic's count. The statements of `then` (the positions, the outbox
    row) follow; their ids."""
    rows = [_row_moved_sql(Topic, topic_id, add={"shift_count": 1})] if shifted else []
    # Both stances' tallies in one statement, locked in key order, so A→B beside B→A cannot deadlock.
    ids = _counters_moved(
        topic_id=topic_id,
        tallies={(None, stance_id): {"positions": delta} for stance_id, delta in moves.items()},
        daily={(stance_id, utc_day(now)): {"positions_delta": delta} for stance_id, delta in moves.items()},
        then=[*rows, *then],
        now=now,
    )
    summary_invalidate(topic_id)
    return ids[len(rows) :]


def _lock(model, base: dict, scopes: list[Scope]) -> None:
    """Lock the existing rows of these scopes in key order (the ones still missing are created later)."""
    match = None
    for thread_id, stance_id in scopes:
        q = model.objects.filter(thread_id=thread_id, stance_id=stance_id)
        match = q if match is None else match | q
    list(match.filter(**base).select_for_update().order_by("pk").values_list("pk", flat=True))


def stance_changed(reply: Reply, *, old_stance_id: int, new_stance_id: int) -> None:
    """Move a visible reply, with its votes, from one stance's counters to another's."""
    # Both moves' rows locked up front, participations then tallies, each in key order: moving A→B beside
    # a concurrent B→A (or the author's new reply) then takes the same locks in the same order.
    stances = sorted({old_stance_id, new_stance_id})
    threads = (None, reply.thread_id)
    _lock(
        Participation,
        {"topic_id": reply.topic_id, "user_id": reply.author_id},
        [(t, s) for s in (*stances, None) for t in threads],
    )
    _lock(StanceTally, {"topic_id": reply.topic_id}, [(t, s) for s in stances for t in threads])
    reply.stance_id = old_stance_id
    reply_counted(reply, -1, move_reply_counts=False)
    reply.stance_id = new_stance_id
    reply_counted(reply, 1, move_reply_counts=False)
