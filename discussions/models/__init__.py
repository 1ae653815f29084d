"""The debate's models, one module per subject; import them from here."""

from discussions.models.debate import (
    VISIBLE_ONLY,
    DailyTally,
    Flag,
    Participation,
    Position,
    Reply,
    ReplyRevision,
    Stance,
    StanceTally,
    Thread,
    Topic,
    Vote,
)
from discussions.models.embedding import EmbedOrigin
from discussions.models.live import Event
from discussions.models.notifications import Notification, NotificationInbox, ThreadSubscription

__all__ = [
    "VISIBLE_ONLY",
    "DailyTally",
    "EmbedOrigin",
    "Event",
    "Flag",
    "Notification",
    "NotificationInbox",
    "Participation",
    "Position",
    "Reply",
    "ReplyRevision",
    "Stance",
    "StanceTally",
    "Thread",
    "ThreadSubscription",
    "Topic",
    "Vote",
]
