"""Casting, moving and retracting votes; each moves the reply's counters and the stance tallies."""

import functools

from django.db import connection, transaction
from django.utils import timezone

from discussions import bookkeeping
from discussions.models import Event, Position, Reply, Stance, Vote
from discussions.services.events import reply_event_statement
from discussions.services.lookups import no_key_update
from forum.errors import Invalid, NotFound
from forum.permissions import refuse_if_suspended
from forum.rawsql import from_row, prepared_cursor, saved, table

# What the ballot reads of the voter's vote; its other fields load if ever asked for.
_VOTE_FIELDS = ("id", "user_id", "reply_id", "value", "voter_stance_id", "cast_at", "retracted_at")

# The voter's side: their declared position on the topic, else the stance of their latest visible reply there.
_SIDE_SQL = (
    "COALESCE((SELECT stance_id FROM {position} WHERE user_id = %s AND topic_id = r.topic_id AND until IS NULL "
    "LIMIT 1), (SELECT stance_id FROM {reply} WHERE author_id = %s AND topic_id = r.topic_id AND state = '{visible}' "
    "ORDER BY created_at DESC, id DESC LIMIT 1))"
)
# The reply's row locked (its counters), the topic's stances, the voter's side and their vote on it: one statement.
# `fresh`: whether the row locked is the version the statement's snapshot sees (see _locked_ballot).
_BALLOT_SQL = (
    "WITH r AS (SELECT {counters}{xmin} FROM {reply} WHERE id = %s AND state = '{visible}'{lock}) "
    "SELECT {r_counters}, {fresh}, s.id, s.slug, {side}, "
    "v.id, v.user_id, v.reply_id, v.value, v.voter_stance_id, v.cast_at, v.retracted_at "
    "FROM r INNER JOIN {stance} s ON s.topic_id = r.topic_id LEFT JOIN {vote} v ON v.user_id = %s AND v.reply_id = r.id"
)
# What a vote reads and writes of its reply (and answers with): not the body.
_COUNTERS = ("id", "topic_id", "thread_id", "stance_id", "upvotes", "downvotes", "score", "votes_by_stance")


# INSERT ... SELECT ending in a WHERE clause: it rides the counters' statement (bookkeeping's `then`).
_INSERT_SQL = (
    "INSERT INTO {vote} (user_id, reply_id, value, voter_stance_id, created_at, cast_at, updated_at, retracted_at) "
    "SELECT %s, %s, %s, %s, %s, %s, %s, NULL WHERE 1 = 1"
)


def _tally_delta(value: int | None) -> tuple[int, int]:
    if value is None:
        return 0, 0
    return (1, 0) if value == Vote.Value.UP else (0, 1)


def _locked_ballot(*, actor, reply_id: int, with_side: bool) -> tuple[Reply, dict[int, str], Vote | None, int | None]:
    """The visible reply's row locked (its counters only), the topic's stances {id: slug}, the actor's vote on
    the reply if any, and their side; NotFound without such a reply."""
    # Raw SQL, prepared, one statement: every vote runs it, and the ORM spent longer building the lock, the
    # ballot and their objects than the database took to answer them.
    low, high = connection.ops.integer_field_range(Reply._meta.pk.get_internal_type())
    if not low <= reply_id <= high:  # as the ORM does: no such row, rather than the driver's overflow
        raise NotFound("No such reply.")
    sql, params = (
        _ballot_sql(connection.vendor, with_side),
        [reply_id, *((actor.pk, actor.pk) if with_side else ()), actor.pk],
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        if rows and not rows[0][len(_COUNTERS)]:
            # The lock waited for a writer that changed the reply after this statement's snapshot was taken, so
            # the ballot may miss that writer's vote. Read again: with the lock held, the new snapshot has it.
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    if not rows:
        raise NotFound("No such reply.")
    split = len(_COUNTERS)
    reply = from_row(Reply, _COUNTERS, rows[0][:split])
    stances = {row[split + 1]: row[split + 2] for row in rows}
    side, mine = rows[0][split + 3], rows[0][split + 4 :]
    vote = None if mine[0] is None else from_row(Vote, _VOTE_FIELDS, mine)
    return reply, stances, vote, side if side in stances else None


@functools.lru_cache(maxsize=4)
def _ballot_sql(vendor: str, with_side: bool) -> str:
    side = "NULL"
    if with_side:
        # The state in the text, not a parameter: a prepared statement's generic plan can then use the partial
        # index of visible replies (with a parameter the database re-plans it on every vote).
        side = _SIDE_SQL.format(position=table(Position), reply=table(Reply), visible=Reply.State.VISIBLE.value)
    xmin, fresh = "", "1 = 1"  # SQLite: the write transaction already holds the database, nothing can race it
    if vendor == "postgresql":
        # Under READ COMMITTED a row lock that waited returns the row's newest version, but the rest of the
        # statement reads its snapshot from before the wait: the locked version's xmin (the transaction that
        # wrote it) then differs from the snapshot's own copy of the row.
        xmin, fresh = ", xmin AS locked_by", f"r.locked_by = (SELECT xmin FROM {table(Reply)} WHERE id = r.id)"
    return _BALLOT_SQL.format(
        counters=", ".join(_COUNTERS),
        xmin=xmin,
        reply=table(Reply),
        visible=Reply.State.VISIBLE.value,
        lock=no_key_update(),
        r_counters=", ".join(f"r.{name}" for name in _COUNTERS),
        fresh=fresh,
        side=side,
        stance=table(Stance),
        vote=table(Vote),
    )


def _vote_insert(*, actor, reply: Reply, value: int, side: int | None, now) -> tuple[Vote, tuple[str, list]]:
    """The actor's first vote on the reply, unsaved, and its INSERT for the counters' statement to run."""
    at = connection.ops.adapt_datetimefield_value(now)
    statement = _INSERT_SQL.format(vote=table(Vote)), [actor.pk, reply.pk, value, side, at, at, at]
    vote = Vote(user=actor, reply=reply, value=value, voter_stance_id=side, created_at=now, cast_at=now)
    vote.updated_at = now  # auto_now: the constructor leaves it unset
    return vote, statement


def _vote_update(vote: Vote, **fields) -> tuple[str, list]:
    """An UPDATE of the vote's row to these values (set on `vote` too), for the counters' statement to run."""
    params = []
    for name, value in fields.items():
        setattr(vote, name, value)
        params.append(Vote._meta.get_field(name).get_db_prep_save(value, connection))
    assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in fields)
    return f"UPDATE {table(Vote)} SET {assignments} WHERE id = %s", [*params, vote.pk]


def _vote_state(vote: Vote | None, stances: dict[int, str]) -> tuple:
    """(value, voter's stance slug, cast day) of an active vote; all None without one."""
    if vote is None or vote.retracted_at is not None:
        return None, None, None
    return vote.value, stances.get(vote.voter_stance_id), bookkeeping.utc_day(vote.cast_at)


def _vote_moved(reply: Reply, old: tuple, new: tuple, stances: dict[int, str], now, *, actor, write) -> list:
    """Move the reply's counters, its stance tallies and the daily upvotes from the vote's `old` state
    to its `new` one, each (value, voter's stance slug, cast day), with `write` (the vote row's INSERT or
    UPDATE) and the vote's outbox row; the ids they wrote."""
    (old_value, old_stance, old_day), (new_value, new_stance, new_day) = old, new
    (old_up, old_down), (new_up, new_down) = _tally_delta(old_value), _tally_delta(new_value)
    up, down = new_up - old_up, new_down - old_down

    by_stance = reply.votes_by_stance
    if old_stance is not None:
        entry = by_stance.setdefault(old_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] - old_up, entry["down"] - old_down
    if new_stance is not None:
        entry = by_stance.setdefault(new_stance, {"up": 0, "down": 0})
        entry["up"], entry["down"] = entry["up"] + new_up, entry["down"] + new_down

    reply.upvotes += up
    reply.downvotes += down
    bookkeeping.reply_rerank(reply, list(stances.values()))
    by_day = {}
    if old_up:
        by_day[old_day] = -1
    if new_up:
        by_day[new_day] = by_day.get(new_day, 0) + 1
    if new_value is None:
        kind = Event.Kind.VOTE_RETRACTED
    else:
        kind = Event.Kind.VOTE_CAST if old_value is None else Event.Kind.VOTE_MOVED
    event = reply_event_statement(kind=kind, reply=reply, actor=actor)
    return bookkeeping.votes_moved(reply, up=up, down=down, upvotes_by_day=by_day, now=now, then=[write, event])


def vote_cast(*, actor, reply_id: int, value: int, on_written=None) -> Vote:
    """Vote a visible reply up (1) or down (-1); the same vote again changes nothing, the other moves it.

    `on_written(vote)` runs inside the transaction, `vote.reply` carrying the new tallies.
    """
    refuse_if_suspended(actor)
    if value not in (Vote.Value.UP, Vote.Value.DOWN) or isinstance(value, bool):
        raise Invalid.on("value", "Must be 1 (up) or -1 (down).")
    with transaction.atomic(durable=True):
        vote = _cast(actor=actor, reply_id=reply_id, value=value)
        if on_written is not None:
            on_written(vote)
        return vote


def _cast(*, actor, reply_id: int, value: int) -> Vote:
    # The reply's row lock serialises every vote on it, so reading the vote and moving the counters
    # cannot interleave with another writer.
    reply, stances, vote, side = _locked_ballot(actor=actor, reply_id=reply_id, with_side=True)
    old = _vote_state(vote, stances)
    if old[0] == value:
        vote.reply = reply
        return vote
    now = timezone.now()
    # The vote's own row is written by the counters' statement, one round trip fewer: nothing reads it before.
    if vote is None:
        vote, write = _vote_insert(actor=actor, reply=reply, value=value, side=side, now=now)
    else:
        write = _vote_update(vote, value=value, voter_stance_id=side, cast_at=now, retracted_at=None, updated_at=now)
    new = (value, stances.get(side), bookkeeping.utc_day(now))
    ids = _vote_moved(reply, old, new, stances, now, actor=actor, write=write)
    if vote.pk is None:
        saved(vote, ids[0])
    vote.reply = reply
    return vote


def vote_retract(*, actor, reply_id: int) -> Reply:
    """Retract the actor's vote on a reply; the vote row is kept, marked retracted."""
    refuse_if_suspended(actor)
    with transaction.atomic(durable=True):
        reply, stances, vote, _ = _locked_ballot(actor=actor, reply_id=reply_id, with_side=False)
        old = _vote_state(vote, stances)
        if old[0] is not None:
            now = timezone.now()
            write = _vote_update(vote, retracted_at=now, updated_at=now)
            _vote_moved(reply, old, (None, None, None), stances, now, actor=actor, write=write)
        return reply
