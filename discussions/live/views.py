"""GET /api/topics/{slug}/events/ and GET /api/me/events/: Server-Sent Events from async views.

Under an ASGI server an open stream is a coroutine waiting on its queue, not a worker: the database is
touched when it opens (the topic, the caller, a replay) and never again while it follows the hub.
"""

import asyncio
from collections import Counter
from functools import partial

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed

from discussions.live import feeds, replay, sse
from discussions.live.hub import Subscriber, db, hub
from forum.authentication import ApiTokenAuthentication
from forum.tickets import TicketRefused, stream_ticket_user

# Open streams per client address on this process (the per-address cap).
_open: Counter = Counter()


class EventStreamResponse(StreamingHttpResponse):
    """An event stream that gives back its address's slot however it ends (even before its first byte)."""

    def __init__(self, frames, *, release):
        super().__init__(frames, content_type="text/event-stream; charset=utf-8")
        self["Cache-Control"] = "no-cache, no-transform"
        self["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        self._release = release

    def close(self):
        super().close()
        self._release()


def _error(status: int, body: dict, **headers) -> JsonResponse:
    return JsonResponse(body, status=status, headers=headers)


def _since(request) -> tuple[int | None, JsonResponse | None]:
    """The last event id the client has: Last-Event-ID, else ?since=; a 400 naming `since` when malformed."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("since")
    if raw is None or raw == "":
        return None, None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None, _error(400, {"since": ["An event id: a whole number of 0 or more."]})
    return int(raw), None


def _authenticated(request):
    """The user behind `Authorization: Token …` or `?ticket=`; AuthenticationFailed otherwise."""
    ticket = request.GET.get("ticket")
    if ticket is not None:
        try:
            return stream_ticket_user(ticket)
        except TicketRefused:
            raise AuthenticationFailed(
                "Invalid or expired ticket: ask POST /api/auth/stream-ticket/ for a new one."
            ) from None
    words = request.headers.get("Authorization", "").split()
    if len(words) != 2 or words[0].lower() != "token":
        raise AuthenticationFailed("Authentication credentials were not provided.")
    return ApiTokenAuthentication().authenticate_credentials(words[1].encode())[0]


async def _frames(subscriber: Subscriber, after: int | None, missed, release):
    live = hub()
    try:
        await live.subscribe(subscriber)
        # The reconnect delay browsers use, and a first byte so proxies and clients see the stream open.
        yield b"retry: 3000\n\n"
        # A reconnecting stream gets what it missed; a user's stream always opens with the unread count.
        if after is not None or subscriber.user_id is not None:
            for _, data in await db(missed, after, subscriber.start):
                yield data
        ahead = after if after is not None and after > subscriber.start else None
        while True:
            try:
                item = await asyncio.wait_for(subscriber.queue.get(), settings.STREAM_HEARTBEAT_SECONDS)
            except TimeoutError:
                yield sse.HEARTBEAT
                continue
            if item is None:  # fell too far behind: start over from a fresh state
                yield sse.reset(live.cursor)[1]
                return
            if ahead is not None and item[0] <= ahead:
                continue  # another node already showed it this client
            yield item[1]
    finally:
        live.unsubscribe(subscriber)
        release()


def _open_stream(request, subscriber: Subscriber, after: int | None, missed):
    if not isinstance(request, ASGIRequest):
        # Under a WSGI server (Django's test live server, SERVER=sync) a stream would hold a worker, and the
        # hub would have no event loop that outlives the request.
        return _error(501, {"detail": "Event streams need an ASGI server: make run or make serve."})
    address = request.META.get("REMOTE_ADDR", "")
    if _open[address] >= settings.STREAM_MAX_PER_ADDRESS:
        return _error(
            429,
            {"detail": f"Too many open streams from this address (at most {settings.STREAM_MAX_PER_ADDRESS})."},
            **{"Retry-After": "5"},
        )
    _open[address] += 1
    released = False

    def release():
        nonlocal released
        if not released:
            released = True
            _open[address] -= 1
            if _open[address] <= 0:
                del _open[address]

    return EventStreamResponse(_frames(subscriber, after, missed, release), release=release)


@csrf_exempt  # GET only: no form to protect, and any other method gets its JSON 405
async def topic_events(request, slug: str):
    """The topic's changes: reply, reply-removed, reply-changed, summary (and thread- and topic-changed)."""
    if request.method != "GET":
        return _error(405, {"detail": f'Method "{request.method}" not allowed.'}, Allow="GET")
    after, refused = _since(request)
    if refused is not None:
        return refused
    topic = await db(feeds.topic_named, slug)
    if topic is None:
        return _error(404, {"detail": "No such topic."})
    return _open_stream(request, Subscriber(topic_id=topic.pk), after, partial(replay.topic_replay, topic.pk))


@csrf_exempt
async def me_events(request):
    """The caller's notifications and unread count, as they happen."""
    if request.method != "GET":
        return _error(405, {"detail": f'Method "{request.method}" not allowed.'}, Allow="GET")
    after, refused = _since(request)
    if refused is not None:
        return refused
    try:
        user = await db(_authenticated, request)
    except AuthenticationFailed as exc:
        return _error(401, {"detail": str(exc.detail)}, **{"WWW-Authenticate": "Token"})
    return _open_stream(request, Subscriber(user_id=user.pk), after, partial(replay.user_replay, user.pk))
