"""The Server-Sent Events wire format: frames as (id, bytes), encoded once and shared by every stream."""

import json

Frame = tuple[int, bytes]

HEARTBEAT = b": keep-alive\n\n"


def frame(event: str, data, event_id: int) -> Frame:
    """One event: its id, its name and its JSON data on one line."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return event_id, f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n".encode()


def reset(event_id: int) -> Frame:
    """What a stream gets when what it missed is no longer kept: refetch, then follow from `event_id`."""
    return frame("reset", {}, event_id)
