"""What a reconnecting stream missed, from the outbox (or `reset` when that is no longer kept)."""

from django.conf import settings

from discussions.live import feeds, sse
from discussions.live.hub import coalesced_frames, topic_frames


def _out_of_reach(after: int) -> bool:
    """True when events after `after` may have been pruned, or `after` is beyond anything written here."""
    low, high = feeds.outbox_bounds()
    return after > high or after < low - 1


def topic_replay(topic_id: int, after: int, upto: int) -> list[sse.Frame]:
    """The topic's events with after < id <= upto as frames, then its summary as it is now."""
    if _out_of_reach(after):
        return [sse.reset(max(after, upto))]
    limit = settings.STREAM_REPLAY_LIMIT
    rows = feeds.topic_events(topic_id, after, upto, limit + 1)
    if len(rows) > limit:
        return [sse.reset(upto)]
    frames, waiting = topic_frames(rows, set())
    # The summary always closes a replay: whatever the client missed, its balance is current again.
    return frames + coalesced_frames(topic_id, waiting, True, max(after, upto))


def user_replay(user_id: int, after: int | None, upto: int) -> list[sse.Frame]:
    """The user's notifications made by events with after < id <= upto, then their unread count (only the
    count for a new stream, `after` None)."""
    if after is None:
        return [sse.frame("unread-count", {"count": feeds.unread_counts([user_id])[user_id]}, upto)]
    if _out_of_reach(after):
        return [sse.reset(max(after, upto))]
    found = feeds.notifications_of([user_id], after=after, upto=upto)
    limit = settings.STREAM_REPLAY_LIMIT
    if len(found) > limit:
        return [sse.reset(upto)]
    frames = [sse.frame("notification", data, event_id) for _, event_id, data in found]
    count = feeds.unread_counts([user_id])[user_id]
    return [*frames, sse.frame("unread-count", {"count": count}, max(after, upto))]
