"""The `stacks` pass: a few representative requests under each serving stack bin/serve offers, one after the
other on the same data and workers, then the floor beside fifty clients dribbling their headers (issue #15)."""

import math
import socket
import threading
import time

from bench import load
from bench.summary import percentile_ms

# name: bin/serve's environment, on the same settings (persistent connections). sync, the earlier stack, is
# the baseline.
STACKS = {
    "sync": {"SERVER": "sync"},
    "uvicorn": {"SERVER": "uvicorn"},
    "granian": {"SERVER": "granian"},
}
SLOW_STACKS = ("sync", "uvicorn", "granian")  # the ones driven beside the slow clients
# (label, size) of the template's endpoints timed under every stack: the framework floor, a reply page of the
# large topic, its stance summary (no cache: the pass serves without Redis) and a vote under the 8 clients.
PICKED = (
    ("floor: topic detail", "large"),
    ("replies (created_at)", "large"),
    ("topic summary", "large"),
    ("vote POST", "large"),
)
STACK_TARGET = 1.1  # an ASGI stack's p50 / sync's, for every request (issue #15, point 5)
SLOW_TARGET = 2.0  # the floor's p50 beside the slow clients / its p50 without them, under an ASGI stack
SLOW_TIMEOUT = 3.0  # seconds a floor request may wait beside the slow clients before it counts as timed out
# Headers a byte a second: far longer than the measurement, so no slow client ever finishes its request.
DRIBBLED = b"GET /api/topics/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * 400


def add_arguments(parser) -> None:
    group = parser.add_argument_group("stacks pass")
    group.add_argument("--slow-clients", type=int, default=50, help="connections dribbling headers (default 50)")
    group.add_argument(
        "--slow-seconds", type=float, default=10.0, help="seconds the floor is driven without, then beside them (10)"
    )


def votes_needed(args) -> int:
    return len(STACKS) * (load.sent_per_endpoint(warmup=args.warmup, requests=args.requests, rounds=args.rounds) + 2)


def held_connections() -> str:
    """How many connections the server holds to the bench database (PostgreSQL), as a number in words."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return "no count of"
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return str(cursor.fetchone()[0])
    finally:
        connection.close()


def picked(template: list[load.Endpoint]) -> list[load.Endpoint]:
    found = {(e.label, e.size): e for e in template}
    return [found[key].fresh() for key in PICKED]


class Dribblers:
    """`count` connections sending a request's headers a byte a second; one the server drops is opened again."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.stop = threading.Event()
        self.connected = 0  # connections opened so far, reopened ones included
        self._lock = threading.Lock()
        # Daemons: a SIGTERM ends the bench without waiting out their next byte.
        self.threads = [threading.Thread(target=self._dribble, daemon=True) for _ in range(count)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 10
        while self.connected < self.count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # every one of them is mid-headers now, holding whatever it holds on the server
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _dribble(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
                    with self._lock:
                        self.connected += 1
                    for byte in DRIBBLED:
                        if self.stop.wait(1.0):
                            return
                        connection.send(bytes([byte]))
            except OSError:  # dropped by the server (a sync worker killed on its timeout): open another
                self.stop.wait(0.2)


def floor_for(port: int, endpoint: load.Endpoint, seconds: float, clients: int) -> tuple[list, int, list]:
    """The floor from `clients` threads for `seconds`, each request timing out after SLOW_TIMEOUT; returns
    (times of the answered, how many timed out, other failures)."""
    times, errors, timed_out = [], [], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    request = endpoint.next_request()

    def client():
        while time.monotonic() < deadline:
            try:
                took, status, content = load.call(port, request, timeout=SLOW_TIMEOUT)
            except TimeoutError:
                with lock:
                    timed_out[0] += 1
                continue
            except Exception as exc:
                errors.append(repr(exc))
                continue
            if status == 200:
                times.append(took)
            else:
                errors.append(f"{request.path}: {status} {content[:200]!r}")

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, timed_out[0], errors


class Slow:
    """The floor without, then beside, the slow clients, under one stack."""

    def __init__(self, idle: list, beside: list, timed_out: int, errors: list, reopened: int):
        self.idle, self.beside, self.timed_out, self.errors, self.reopened = idle, beside, timed_out, errors, reopened

    def ratio(self) -> float:
        if not self.idle or not self.beside:
            return math.nan
        return percentile_ms(self.beside, 0.5) / percentile_ms(self.idle, 0.5)


def slow_clients(port: int, floor: load.Endpoint, args) -> Slow:
    idle, idle_timeouts, errors = floor_for(port, floor, args.slow_seconds / 2, args.clients)
    with Dribblers(port, args.slow_clients) as dribblers:
        beside, timed_out, more = floor_for(port, floor, args.slow_seconds, args.clients)
        reopened = dribblers.connected - args.slow_clients
    # A timeout without the slow clients is a failure under any stack.
    errors += [f"{floor.label}: timed out after {SLOW_TIMEOUT} s with no slow client"] * idle_timeouts
    return Slow(idle, beside, timed_out, errors + more, reopened)


def run(serving, template: list[load.Endpoint], args) -> int:
    """Serve under each stack in turn, time the picked requests, then the floor beside the slow clients; print
    the tables and return how many requests failed."""
    measured, slow, workers, elapsed = {}, {}, {}, {}
    for stack in STACKS:
        endpoints = picked(template)
        with serving(**STACKS[stack]) as node:
            drive = {"warmup": args.warmup, "requests": args.requests, "rounds": args.rounds, "clients": args.clients}
            elapsed[stack] = load.drive(node.port, endpoints, **drive)
            workers[stack] = f"{node.workers}; {held_connections()} database connections held after the drive"
            if stack in SLOW_STACKS:
                slow[stack] = slow_clients(node.port, endpoints[0], args)
        measured[stack] = endpoints
    return report(measured, slow, workers, elapsed, args)


def report(measured: dict, slow: dict, workers: dict, elapsed: dict, args) -> int:
    """The stacks side by side, then the slow clients; returns the failures (a timeout counts under ASGI only)."""
    print(f"\n== pass 'stacks': {args.clients} clients, the same workers, data and settings under each stack")
    for stack in STACKS:
        timed = sum(len(e.times) for e in measured[stack])
        print(f"  {stack}: {workers[stack]}; {timed:,} timed requests in {elapsed[stack]:.1f} s")
    print(f"p50/p95 in ms; target: an ASGI stack's p50 / sync's <= {STACK_TARGET}")
    header = f"{'request (large topic)':<24}" + "".join(f"{s + ' p50':>13}{'p95':>8}" for s in STACKS)
    header += f"{'uvicorn/sync':>15}{'granian/sync':>15}"
    print(header)
    print("-" * len(header))
    for row in zip(*(measured[s] for s in STACKS), strict=True):
        by_stack = dict(zip(STACKS, row, strict=True))
        line = f"{row[0].label:<24}" + "".join(f"{e.p50():>13.2f}{e.p95():>8.2f}" for e in row)
        for stack in ("uvicorn", "granian"):
            ratio = by_stack[stack].p50() / by_stack["sync"].p50()
            line += f"{ratio:>8.2f} {'met' if ratio <= STACK_TARGET else 'MISSED':<6}"
        print(line.rstrip())

    print(
        f"\nthe floor without, then beside {args.slow_clients} connections sending headers a byte a second "
        f"({args.clients} clients, {args.slow_seconds / 2:g} s then {args.slow_seconds:g} s, each request timing "
        f"out after {SLOW_TIMEOUT:g} s); target: beside/without < {SLOW_TARGET} under an ASGI stack"
    )
    header = (
        f"{'stack':<10}{'without p50':>12}{'p95':>8}{'beside p50':>12}{'p95':>8}{'answered':>10}{'timed out':>11}"
        f"{'reopened':>10}{'beside/without':>16}"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for stack in SLOW_STACKS:
        s = slow[stack]
        line = (
            f"{stack:<10}{_ms(s.idle, 0.5):>12}{_ms(s.idle, 0.95):>8}{_ms(s.beside, 0.5):>12}{_ms(s.beside, 0.95):>8}"
        )
        line += f"{len(s.beside):>10}{s.timed_out:>11}{s.reopened:>10}"
        ratio = s.ratio()
        if stack == "sync":
            line += f"{ratio:>9.2f}  (the earlier stack: timeouts expected)"
        else:
            line += f"{ratio:>9.2f} {'met' if ratio < SLOW_TARGET else 'MISSED'}"
            # An ASGI node beside slow clients must still answer: a timeout there is a failed request.
            s.errors += [f"floor: timed out after {SLOW_TIMEOUT} s beside the slow clients"] * s.timed_out
        print(line)

    for stack in STACKS:
        for e in measured[stack]:
            if e.errors:
                failed += len(e.errors)
                print(f"  {len(e.errors)} failed under {stack}: {e.label}, first: {e.errors[0]}")
        if stack in slow and slow[stack].errors:
            failed += len(slow[stack].errors)
            print(f"  {len(slow[stack].errors)} failed under {stack} (slow clients), first: {slow[stack].errors[0]}")
    return failed


def _ms(times: list, p: float) -> str:
    return f"{percentile_ms(times, p):.2f}" if times else "-"
