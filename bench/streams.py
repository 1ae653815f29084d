"""The `streams` pass: many open topic streams on one node (uvicorn workers) while clients write (issue #15).

The stream clients are raw asyncio connections in one thread of this process (HTTP/1.1, chunked, as a browser's
EventSource reads them); the writers are threads posting replies to the large topic and votes on its replies.
Every time is taken with time.perf_counter() in this process, so a write's answer and an event's arrival share
one clock.
"""

import asyncio
import contextlib
import itertools
import json
import math
import resource
import threading
import time
from collections import Counter
from pathlib import Path

from bench import load, stacks
from bench.summary import percentile_ms

REST = (("floor: topic detail", "large"), ("replies (created_at)", "large"))  # timed without and with the streams
OPENING = 100  # streams opening at once: the rest wait their turn (a listen backlog, the server's threads)
OPEN_TIMEOUT = 120  # seconds for every stream to open
SETTLE_TIMEOUT = 15  # seconds after the last write for every stream to have shown it (coalescing, the gap grace)


def add_arguments(parser) -> None:
    group = parser.add_argument_group("streams pass")
    group.add_argument("--streams", type=int, default=1000, help="open topic streams on one node (default 1000)")
    group.add_argument(
        "--stream-seconds", type=float, default=20.0, help="seconds the writers write while they are open (20)"
    )
    group.add_argument(
        "--write-rate", type=float, default=1.0, help="writes a second per writer, replies and votes in turn (1)"
    )


def votes_needed(args) -> int:
    return args.clients * (math.ceil(args.stream_seconds * args.write_rate) + 1)


# --- The stream clients ---------------------------------------------------------------------------


class Stream:
    """One open stream: when each reply arrived, which replies showed a change, the frames by name."""

    def __init__(self):
        self.status: int | None = None
        self.subscribed = False  # its first frame came: the node's hub hands it every later event
        self.arrived: dict[int, float] = {}  # reply id -> perf_counter() at the first `reply` frame for it
        self.duplicates = 0
        self.changed: set[int] = set()  # replies seen in `reply-changed` frames
        self.frames: Counter = Counter()
        self.out_of_order = 0  # frames whose id was lower than the one before
        self.ended: str | None = None  # why it ended before we closed it
        self._last_id = 0

    def take(self, frame: bytes, now: float) -> None:
        event, data, event_id = "message", None, None
        for line in frame.split(b"\n"):
            if line.startswith(b"id: "):
                event_id = int(line[4:])
            elif line.startswith(b"event: "):
                event = line[7:].decode()
            elif line.startswith(b"data: "):
                data = line[6:]
        if event_id is None:  # the `retry:` line, a heartbeat comment
            self.subscribed = True
            return
        self.frames[event] += 1
        if event_id < self._last_id:
            self.out_of_order += 1
        self._last_id = event_id
        if event == "reply":
            reply = json.loads(data)["id"]
            if reply in self.arrived:
                self.duplicates += 1
            else:
                self.arrived[reply] = now
        elif event == "reply-changed":
            self.changed.add(json.loads(data)["id"])
        elif event == "reset":
            self.ended = "reset (it fell behind)"


async def follow(stream: Stream, port: int, path: str, opening: asyncio.Semaphore) -> None:
    """Open `path` and read its frames until cancelled, taking each as it arrives."""
    writer = None
    try:
        async with opening:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            stream.status = int(head.split(b" ", 2)[1])
            lowered = head.lower()
            if stream.status != 200 or b"transfer-encoding: chunked" not in lowered:
                stream.ended = f"answered {head.splitlines()[0].decode()!r}, not a chunked event stream"
                return
            buffered = b""
            while not stream.subscribed:
                buffered = await _chunk(reader, stream, buffered)
        while True:
            buffered = await _chunk(reader, stream, buffered)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # closed by the server, or a malformed answer
        stream.ended = stream.ended or repr(exc)
    finally:
        if writer is not None:
            writer.close()


async def _chunk(reader: asyncio.StreamReader, stream: Stream, buffered: bytes) -> bytes:
    """Read one chunk of the body, take the whole frames it completes; returns what is left of a frame."""
    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
    if size == 0:
        raise ConnectionError("the stream ended")
    data = await reader.readexactly(size + 2)
    now = time.perf_counter()
    *frames, buffered = (buffered + data[:-2]).split(b"\n\n")
    for frame in frames:
        stream.take(frame, now)
    return buffered


class Streams:
    """`count` streams of `path` followed on an event loop of their own thread."""

    def __init__(self, port: int, path: str, count: int):
        self.streams = [Stream() for _ in range(count)]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port, self.path, self.tasks = port, path, []

    def __enter__(self):
        self.thread.start()
        began = time.perf_counter()

        async def start():
            opening = asyncio.Semaphore(OPENING)
            self.tasks = [asyncio.create_task(follow(s, self.port, self.path, opening)) for s in self.streams]

        self.call(start())
        while time.perf_counter() - began < OPEN_TIMEOUT:
            if all(s.subscribed or s.ended for s in self.streams):
                break
            time.sleep(0.1)
        self.opened_in = time.perf_counter() - began
        return self

    def __exit__(self, *exc):
        async def cancel():
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(cancel(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def call(self, coroutine, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def open(self) -> list[Stream]:
        return [s for s in self.streams if s.subscribed and not s.ended]


# --- The writers ----------------------------------------------------------------------------------


class Write:
    def __init__(self, kind: str, reply: int | None, sent: float, answered: float):
        self.kind, self.reply, self.sent, self.answered = kind, reply, sent, answered


def write(port: int, post: load.Endpoint, vote: load.Endpoint, args) -> tuple[list[Write], list[str]]:
    """`args.clients` writers for `args.stream_seconds`, each sending a reply then a vote in turn at
    `args.write_rate` a second, staggered; returns the writes answered as expected and the failures."""
    done, errors = [], []
    interval = 1 / args.write_rate
    began = time.perf_counter()
    end = began + args.stream_seconds

    def writer(k: int):
        for i in itertools.count():
            due = began + (i + k / args.clients) * interval
            if due >= end:
                return
            time.sleep(max(0.0, due - time.perf_counter()))
            endpoint = post if (i + k) % 2 == 0 else vote
            try:
                request = endpoint.next_request()
                sent = time.perf_counter()
                took, status, content = load.call(port, request)
            except Exception as exc:
                errors.append(f"{endpoint.label}: {exc!r}")
                continue
            answered = sent + took
            if status != endpoint.status:
                errors.append(f"{request.method} {request.path}: {status} {content[:200]!r}")
                continue
            endpoint.times.append(took)
            if endpoint is post:
                done.append(Write("reply", json.loads(content)["id"], sent, answered))
            else:
                done.append(Write("vote", int(request.path.split("/")[3]), sent, answered))

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, errors


def settled(streams: list[Stream], replies: set[int], voted: set[int]) -> bool:
    return all(replies <= s.arrived.keys() and voted <= s.changed for s in streams)


# --- Memory -----------------------------------------------------------------------------------


def group_rss(group: int) -> tuple[int, int]:
    """(bytes resident, processes) of every process in process group `group`: make, the server, its workers."""
    total, count = 0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != group:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    count += 1
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return total, count


def enough_files(count: int) -> None:
    """Raise this process's open-file limit (the server inherits it) to hold `count` streams and some."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise SystemExit(f"bench: {count} streams need {wanted} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# --- The pass ---------------------------------------------------------------------------------


def run(serving, template: list[load.Endpoint], args) -> int:
    """Serve with uvicorn workers, time the REST reads without streams, open the streams, time them again,
    write, wait for every stream to show every write, time the reads once more; print and return failures."""
    found = {(e.label, e.size): e for e in template}
    post, vote = found[("reply create POST", "large")].fresh(), found[("vote POST", "large")].fresh()
    slug = found[("floor: topic detail", "large")].next_request().path.split("/")[3]
    enough_files(args.streams)
    rest = {}
    drive = {"warmup": args.warmup, "requests": args.requests, "rounds": args.rounds, "clients": args.clients}
    # Every stream comes from 127.0.0.1: the per-address cap (per process) must let them all in.
    with serving(SERVER="uvicorn", STREAM_MAX_PER_ADDRESS=str(args.streams + 10)) as node:
        rest["without"] = [found[key].fresh() for key in REST]
        load.drive(node.port, rest["without"], **drive)
        rss_before, processes = group_rss(node.group)
        with Streams(node.port, f"/api/topics/{slug}/events/", args.streams) as streams:
            time.sleep(1)  # let the workers settle what the opening allocated
            rss_open, _ = group_rss(node.group)
            rest["with"] = [found[key].fresh() for key in REST]
            load.drive(node.port, rest["with"], **drive)
            writes, errors = write(node.port, post, vote, args)
            wrote = time.perf_counter()
            replies = {w.reply for w in writes if w.kind == "reply"}
            voted = {w.reply for w in writes if w.kind == "vote"}
            while time.perf_counter() - wrote < SETTLE_TIMEOUT and not settled(streams.open(), replies, voted):
                time.sleep(0.2)
            settle = time.perf_counter() - wrote
            rss_after, _ = group_rss(node.group)
            opened = streams.open()
            failures = [s.ended for s in streams.streams if s.ended]
            opened_in = streams.opened_in
        rest["after"] = [found[key].fresh() for key in REST]
        load.drive(node.port, rest["after"], **drive)
        workers = f"{node.workers}; {stacks.held_connections()} database connections held at the end"

    print(
        f"\n== pass 'streams': {args.streams:,} topic streams on one node ({workers}), {len(opened):,} open "
        f"in {opened_in:.1f} s; {args.clients} writers at {args.write_rate:g} a second each for "
        f"{args.stream_seconds:g} s, replies and votes in turn"
    )
    latency(writes, opened)
    delivered(writes, opened, streams_count=args.streams, settle=settle)
    print(
        f"server memory ({processes} processes of its group): {rss_before / 2**20:.1f} MiB without streams, "
        f"{rss_open / 2**20:.1f} MiB with them open, {rss_after / 2**20:.1f} MiB after the writes: "
        f"{(rss_open - rss_before) / max(len(opened), 1) / 1024:.1f} KiB a stream"
    )
    print(f"\n{'write (large topic)':<24}{'p50':>10}{'p95':>8}   beside the open streams")
    for e in (post, vote):
        print(f"{e.label:<24}{e.p50():>10.2f}{e.p95():>8.2f}")
    print(
        f"\n{'REST p50/p95 ms':<24}{'no streams':>12}{'p95':>8}{'streams open':>14}{'p95':>8}"
        f"{'no streams again':>18}{'p95':>8}{'open/no':>9}"
    )
    for before, beside, after in zip(rest["without"], rest["with"], rest["after"], strict=True):
        line = f"{before.label:<24}{before.p50():>12.2f}{before.p95():>8.2f}{beside.p50():>14.2f}{beside.p95():>8.2f}"
        print(f"{line}{after.p50():>18.2f}{after.p95():>8.2f}{beside.p50() / before.p50():>9.2f}")

    failed = len(errors) + sum(len(e.errors) for group in rest.values() for e in group)
    if errors:
        print(f"  {len(errors)} writes failed, first: {errors[0]}")
    for group in rest.values():
        for e in group:
            if e.errors:
                print(f"  {len(e.errors)} failed: {e.label}, first: {e.errors[0]}")
    lost = sum(len(replies - s.arrived.keys()) + len(voted - s.changed) for s in opened)
    if failures or lost:
        print(
            f"  {len(failures)} streams failed or ended early, first: {failures[0] if failures else '-'}; {lost} lost"
        )
    return failed + len(failures) + lost


def latency(writes: list[Write], opened: list[Stream]) -> None:
    """p50/p95 from each reply's answer (and from its request being sent) to its `reply` frame on each stream."""
    from_answer, from_sent = [], []
    for w in writes:
        if w.kind != "reply":
            continue
        for s in opened:
            if w.reply in s.arrived:
                from_answer.append(s.arrived[w.reply] - w.answered)
                from_sent.append(s.arrived[w.reply] - w.sent)
    if not from_answer:
        print("no reply reached a stream")
        return
    print("reply posted -> its `reply` frame at each stream, ms (the commit lies between the two):")
    for label, times in (("from the answer", from_answer), ("from the request sent", from_sent)):
        print(
            f"  {label:<24} p50 {percentile_ms(times, 0.5):>8.1f}  p95 {percentile_ms(times, 0.95):>8.1f}  "
            f"max {max(times) * 1000:>8.1f}  ({len(times):,} frames)"
        )


def delivered(writes: list[Write], opened: list[Stream], *, streams_count: int, settle: float) -> None:
    replies = {w.reply for w in writes if w.kind == "reply"}
    voted = {w.reply for w in writes if w.kind == "vote"}
    got = sum(len(replies & s.arrived.keys()) for s in opened)
    changed = sum(len(voted & s.changed) for s in opened)
    frames = sum((s.frames for s in opened), Counter())
    print(
        f"delivered: {got:,} of {len(replies) * streams_count:,} `reply` frames ({len(replies)} replies x "
        f"{streams_count:,} streams), {changed:,} of {len(voted) * streams_count:,} voted replies shown changed "
        f"({len(voted)} replies, {sum(w.kind == 'vote' for w in writes)} votes, coalesced), all within {settle:.1f} s "
        f"of the last write; duplicates {sum(s.duplicates for s in opened)}, out of order "
        f"{sum(s.out_of_order for s in opened)}"
    )
    print("frames by event: " + ", ".join(f"{name} {count:,}" for name, count in sorted(frames.items())))
