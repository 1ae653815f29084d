"""One hub per server process: it reads the outbox in id order and hands each event to the open streams.

Streams never query for new events themselves: the hub reads new outbox rows once (woken by Redis pub/sub,
PostgreSQL NOTIFY, or its own poll), renders each payload once, and puts the same bytes on every interested
stream's queue. Ids are handed out before commit, so a transaction can commit after a later one: the hub
waits up to GAP_GRACE seconds for a missing id before taking it as rolled back, which keeps each stream in
id order. Vote- and position-driven changes are coalesced per topic to one flush per STREAM_COALESCE_SECONDS.
"""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from discussions.live import feeds, sse
from discussions.live.wake import CHANNEL, COOLDOWN
from discussions.models import Event

log = logging.getLogger(__name__)

GAP_GRACE = 2.0  # seconds an id may stay missing (an open transaction) before it counts as rolled back
BATCH = 500  # outbox rows read at a time
QUEUE_FRAMES = 2000  # a stream further behind than this is sent `reset` and closed (it reconnects and replays)

Kind = Event.Kind
# Events shown at once, as what they are; the others only mark a reply or a summary for the next flush.
SHOWN_AS = {
    Kind.REPLY_POSTED: "reply",
    Kind.REPLY_RESTORED: "reply",
    Kind.REPLY_WITHDRAWN: "reply-removed",
    Kind.REPLY_HIDDEN: "reply-removed",
    Kind.REPLY_EDITED: "reply-changed",
    Kind.STANCE_CHANGED: "reply-changed",
    Kind.THREAD_LOCKED: "thread-changed",
    Kind.THREAD_PINNED: "thread-changed",
    Kind.TOPIC_CHANGED: "topic-changed",
}
COALESCED_REPLY = {Kind.VOTE_CAST, Kind.VOTE_MOVED, Kind.VOTE_RETRACTED}
# Every topic event moves the summary (counts, tallies, best replies, the question itself).
# Events that may have made notifications (a new reply, or a moderator's act on one, edits and withdrawals
# included): the user streams look for theirs.
NOTIFYING = {
    Kind.REPLY_POSTED,
    Kind.REPLY_EDITED,
    Kind.REPLY_WITHDRAWN,
    Kind.REPLY_HIDDEN,
    Kind.REPLY_RESTORED,
    Kind.STANCE_CHANGED,
}

# Two threads of its own per process for the hub's and the streams' reads: never the thread the views run
# in, and at most two database connections however many streams are open.
_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="live")
_db = sync_to_async(
    lambda function, *args, **kwargs: function(*args, **kwargs), thread_sensitive=False, executor=_EXECUTOR
)


async def db(function, *args, **kwargs):
    """Run a synchronous read in one of the live threads."""
    return await _db(function, *args, **kwargs)


class Subscriber:
    """One open stream: what it follows and the frames waiting for it."""

    def __init__(self, *, topic_id: int | None = None, user_id: int | None = None):
        self.topic_id, self.user_id = topic_id, user_id
        self.queue: asyncio.Queue = asyncio.Queue()
        self.start = 0  # the hub's cursor when it joined: it gets live events after this id
        self.overflowed = False

    def put(self, frame: sse.Frame | None) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_FRAMES:
            self.overflowed = True
            self.queue.put_nowait(None)  # the stream sends `reset` and closes
            return
        self.queue.put_nowait(frame)


class _Pending:
    """A topic's changes waiting for its next flush."""

    def __init__(self):
        self.replies: set[int] = set()
        self.summary = False
        self.last_flush = 0.0

    def __bool__(self):
        return self.summary or bool(self.replies)


class Hub:
    def __init__(self):
        self.topics: dict[int, set[Subscriber]] = defaultdict(set)
        self.users: dict[int, set[Subscriber]] = defaultdict(set)
        self.cursor: int | None = None
        self.pending: dict[int, _Pending] = defaultdict(_Pending)
        self.source = "poll"  # what wakes it: "redis", "notify" or "poll" (also while those are down)
        self._wake = asyncio.Event()
        self._gap: tuple[int, float] | None = None
        self._poll_until = 0.0  # after an outage, writers may still skip Redis this long: poll meanwhile
        self._tasks: list[asyncio.Task] = []
        self._started = asyncio.Lock()
        # Held while a batch is handed out and the cursor moved: a stream joins before a batch (and gets it
        # live) or after (and its replay reaches the new cursor), never halfway through.
        self._turn = asyncio.Lock()
        self._failures = 0

    # Streams joining and leaving.

    async def subscribe(self, subscriber: Subscriber) -> Subscriber:
        async with self._started:
            if not self._tasks:
                self.cursor = (await db(feeds.outbox_bounds))[1]
                self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._listen())]
        async with self._turn:
            subscriber.start = self.cursor
            if subscriber.topic_id is not None:
                self.topics[subscriber.topic_id].add(subscriber)
            if subscriber.user_id is not None:
                self.users[subscriber.user_id].add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        for index, key in ((self.topics, subscriber.topic_id), (self.users, subscriber.user_id)):
            if key is not None and key in index:
                index[key].discard(subscriber)
                if not index[key]:
                    del index[key]

    # Reading the outbox.

    async def _run(self) -> None:
        while True:
            try:
                await self._wait()
                await self._pull()
                await self._flush_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: the next round reads again from the same cursor
                log.exception("live: reading or sending the outbox failed; retrying")
                await asyncio.sleep(1.0)

    async def _wait(self) -> None:
        polling = self.source == "poll" or time.monotonic() < self._poll_until
        timeout = settings.STREAM_POLL_SECONDS if polling else settings.STREAM_SAFETY_POLL_SECONDS
        if self._gap is not None:
            timeout = min(timeout, 0.05)
        due = [p.last_flush + settings.STREAM_COALESCE_SECONDS for p in self.pending.values() if p]
        if due:
            timeout = max(0.0, min(timeout, min(due) - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _pull(self) -> None:
        while True:
            rows = await db(feeds.events_after, self.cursor, BATCH)
            ready = self._in_order(rows)
            if ready:
                async with self._turn:
                    await self._handed_out(ready)
            if len(rows) < BATCH or len(ready) < len(rows):
                return

    async def _handed_out(self, ready: list[feeds.Row]) -> None:
        """Dispatch a batch, then move the cursor past it; a batch that fails three times running is passed
        (logged): one bad event must not stop every stream."""
        try:
            await self._dispatch(ready)
        except Exception:
            self._failures += 1
            if self._failures < 3:
                raise
            log.exception("live: events %s to %s could not be sent; passing them", ready[0].id, ready[-1].id)
        self._failures = 0
        self.cursor = ready[-1].id

    def _in_order(self, rows: list[feeds.Row]) -> list[feeds.Row]:
        """The rows that follow the cursor without a gap, or past a gap open longer than GAP_GRACE."""
        ready, expected = [], self.cursor + 1
        for row in rows:
            if row.id != expected:
                now = time.monotonic()
                if self._gap is None or self._gap[0] != expected:
                    self._gap = (expected, now)
                if now - self._gap[1] < GAP_GRACE:
                    break
                log.info("live: outbox ids %s to %s never committed; passing them", expected, row.id - 1)
            self._gap = None
            ready.append(row)
            expected = row.id + 1
        return ready

    # Handing events out.

    async def _dispatch(self, rows: list[feeds.Row]) -> None:
        by_topic: dict[int, list[feeds.Row]] = defaultdict(list)
        for row in rows:
            if row.topic_id in self.topics:
                by_topic[row.topic_id].append(row)
        for topic_id, topic_rows in by_topic.items():
            await self._topic_dispatch(topic_id, topic_rows)
        if self.users:
            await self._users_dispatch(rows)

    async def _topic_dispatch(self, topic_id: int, rows: list[feeds.Row]) -> None:
        pending = self.pending[topic_id]
        pending.summary = True  # every topic event moves the summary (counts, tallies, best replies, the question)
        frames, pending.replies = await db(topic_frames, rows, pending.replies)
        self._send(self.topics.get(topic_id, ()), frames)

    async def _flush_due(self) -> None:
        async with self._turn:
            await self._flush_all_due()

    async def _flush_all_due(self) -> None:
        now = time.monotonic()
        for topic_id, pending in list(self.pending.items()):
            if topic_id not in self.topics:
                del self.pending[topic_id]
            elif pending and now - pending.last_flush >= settings.STREAM_COALESCE_SECONDS:
                await self._flush(topic_id, pending, summary=True)

    async def _flush(self, topic_id: int, pending: _Pending, *, summary: bool) -> None:
        """Send a topic's coalesced reply changes (and its summary) as of now, under the current cursor id."""
        replies, pending.replies = sorted(pending.replies), set()
        send_summary = summary and pending.summary
        if send_summary:
            pending.summary = False
        if not replies and not send_summary:
            return
        pending.last_flush = time.monotonic()
        frames = await db(coalesced_frames, topic_id, replies, send_summary, self.cursor)
        self._send(self.topics.get(topic_id, ()), frames)

    @staticmethod
    def _send(subscribers, frames: list[sse.Frame]) -> None:
        for subscriber in list(subscribers):
            for frame in frames:
                subscriber.put(frame)

    async def _users_dispatch(self, rows: list[feeds.Row]) -> None:
        notifying = [row.id for row in rows if row.kind in NOTIFYING]
        read = {
            row.user_id: row.id for row in rows if row.kind == Kind.NOTIFICATIONS_READ and row.user_id in self.users
        }
        listening = list(self.users)
        found = await db(feeds.notifications_of, listening, event_ids=notifying) if notifying else []
        touched = dict(read)
        per_user = defaultdict(list)
        for user_id, event_id, data in found:
            per_user[user_id].append(sse.frame("notification", data, event_id))
            touched[user_id] = max(touched.get(user_id, 0), event_id)
        if not touched:
            return
        counts = await db(feeds.unread_counts, list(touched))
        for user_id, last_id in touched.items():
            frames = [*per_user[user_id], sse.frame("unread-count", {"count": counts[user_id]}, last_id)]
            self._send(self.users.get(user_id, ()), frames)

    # Listening for wake-ups.

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> None:
        if settings.REDIS_URL:
            listen, source = self._listen_redis, "redis"
        elif connections["default"].vendor == "postgresql":
            listen, source = self._listen_notify, "notify"
        else:
            return  # SQLite: the poll is the only source
        while True:
            try:
                await listen(source)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.source != "poll":
                    log.warning("live: %s lost (%s); polling the outbox until it is back", source, exc)
                self.source = "poll"
                self.wake()  # read at once what may have been missed
                await asyncio.sleep(1.0)

    async def _listen_redis(self, source: str) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1.0, health_check_interval=10)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                self._listening(source)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is not None:
                        self.wake()
                    else:
                        await pubsub.ping()  # a dead connection shows here rather than as silence
        finally:
            await client.aclose()

    async def _listen_notify(self, source: str) -> None:
        import psycopg

        params = connections["default"].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        params.pop("pool", None)
        async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as connection:
            await connection.execute(f'LISTEN "{CHANNEL}"')
            self._listening(source)
            async for _ in connection.notifies():
                self.wake()

    def _listening(self, source: str) -> None:
        if self.source != source:
            log.info("live: woken by %s", source)
            if source == "redis":
                self._poll_until = time.monotonic() + COOLDOWN + 1
        self.source = source
        self.wake()  # whatever came while it was down


def topic_frames(rows: list[feeds.Row], waiting: set[int]) -> tuple[list[sse.Frame], set[int]]:
    """A topic's events in order as frames, and the replies still waiting for a coalesced flush.

    Replies waiting on votes go out just before the next event shown as it is (with the id before it), so a
    stream's last id never passes a change it has not shown.
    """
    wanted = {row.reply_id for row in rows if row.reply_id is not None} | waiting
    shown = [row for row in rows if row.kind in SHOWN_AS]
    if not shown:
        return [], waiting | {row.reply_id for row in rows if row.kind in COALESCED_REPLY}
    replies = feeds.replies_shown(sorted(wanted))
    threads = feeds.threads_shown(
        [row.thread_id for row in shown if row.kind in (Kind.THREAD_LOCKED, Kind.THREAD_PINNED)]
    )
    frames, waiting = [], set(waiting)
    for row in rows:
        if row.kind in COALESCED_REPLY:
            waiting.add(row.reply_id)
            continue
        if row.kind not in SHOWN_AS:
            continue
        waiting.discard(row.reply_id)  # its own frame shows it as it is now
        frames += [sse.frame("reply-changed", replies[r], row.id - 1) for r in sorted(waiting) if r in replies]
        waiting = set()
        frames += _shown(row, replies, threads)
    return frames, waiting


def _shown(row: feeds.Row, replies: dict, threads: dict) -> list[sse.Frame]:
    name = SHOWN_AS[row.kind]
    if name == "reply-removed":
        return [sse.frame(name, {"id": row.reply_id}, row.id)]
    if name in ("reply", "reply-changed"):
        # Absent when hidden or withdrawn since: that change's own event follows.
        return [sse.frame(name, replies[row.reply_id], row.id)] if row.reply_id in replies else []
    if name == "thread-changed":
        return [sse.frame(name, threads[row.thread_id], row.id)] if row.thread_id in threads else []
    return [sse.frame(name, {"topic": row.topic_id}, row.id)]


def coalesced_frames(topic_id: int, reply_ids, summary: bool, event_id: int) -> list[sse.Frame]:
    """The current state of replies whose votes moved, and the topic's summary, under one id."""
    frames = [sse.frame("reply-changed", data, event_id) for data in feeds.replies_shown(sorted(reply_ids)).values()]
    if summary:
        data = feeds.topic_summary(topic_id)
        if data is not None:
            frames.append(sse.frame("summary", data, event_id))
    return frames


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """This event loop's hub (one per server process; tests may run several loops)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(id(loop))
    if found is None:
        found = _hubs[id(loop)] = Hub()
    return found
