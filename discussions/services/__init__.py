"""Every write to the debate, one module per subject; each public function is one durable transaction.

They check the actor (suspension, rights), write, move the maintained counters and append the moderation
log in that transaction, and raise forum.errors exceptions. The names below are the whole public surface.
"""

from discussions.services.embed_origins import embed_origin_add, embed_origin_remove, embed_origin_update
from discussions.services.flags import flag_create, flag_dismiss, flag_resolve
from discussions.services.moderation import reply_hide, reply_restore, reply_stance_change
from discussions.services.notifications import notifications_read, subscription_set
from discussions.services.positions import position_set
from discussions.services.replies import reply_create, reply_update, reply_withdraw
from discussions.services.threads import thread_create, thread_lock, thread_pin
from discussions.services.topics import topic_create, topic_lock, topic_update
from discussions.services.votes import vote_cast, vote_retract

__all__ = [
    "embed_origin_add",
    "embed_origin_remove",
    "embed_origin_update",
    "flag_create",
    "flag_dismiss",
    "flag_resolve",
    "notifications_read",
    "position_set",
    "reply_create",
    "reply_hide",
    "reply_restore",
    "reply_stance_change",
    "reply_update",
    "reply_withdraw",
    "subscription_set",
    "thread_create",
    "thread_lock",
    "thread_pin",
    "topic_create",
    "topic_lock",
    "topic_update",
    "vote_cast",
    "vote_retract",
]
