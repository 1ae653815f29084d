"""Drive a live server: each request on a new connection, bursts from concurrent clients, endpoints in turn."""

import dataclasses
import http.client
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from bench.summary import percentile_ms


class Node(NamedTuple):
    """A running `make serve`: its port, its process group (make, the server and its workers), its start-up line."""

    port: int
    group: int
    workers: str


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    token: str | None = None

    def headers(self) -> dict:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return headers


@dataclass
class Endpoint:
    """One measured request: a read's fixed request, or a writer handing out a fresh one each time."""

    label: str
    size: str | None  # "small" or "large": reads are compared across the two
    next_request: Callable[[], Request]
    status: int = 200
    kind: str = "read"  # "read" or "write"
    table: str | None = None  # lists: the table their ORDER BY … LIMIT query reads, for EXPLAIN
    floor_target: float = 2.0  # the bound on p50 / floor p50
    info: bool = False  # timed for information: no target marked
    times: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    queries: int | None = None  # in one request, counted in-process before the server starts
    sql: list = field(default_factory=list)  # that request's statements

    @classmethod
    def read(cls, label: str, size: str, path: str, **kwargs) -> "Endpoint":
        request = Request("GET", path)
        return cls(label, size, lambda: request, **kwargs)

    def fresh(self) -> "Endpoint":
        """The same request, nothing measured yet: one per pass."""
        return dataclasses.replace(self, times=[], errors=[], queries=None, sql=[])

    def p50(self) -> float:
        return percentile_ms(self.times, 0.5) if self.times else math.nan

    def p95(self) -> float:
        return percentile_ms(self.times, 0.95) if self.times else math.nan


def call(port: int, request: Request, timeout: float = 60) -> tuple[float, int, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one); returns (seconds, status, body)."""
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers())
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    return time.perf_counter() - began, response.status, content


def burst(port: int, endpoint: Endpoint, count: int, clients: int, record: bool) -> None:
    """`count` requests to one endpoint from `clients` threads at once, each sending its next as soon as one ends."""
    remaining = itertools.count()
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                if next(remaining) >= count:
                    return
            try:
                request = endpoint.next_request()
                seconds, status, content = call(port, request)
            except Exception as exc:  # counted as a failed request; a thread's exception would otherwise vanish
                endpoint.errors.append(repr(exc))
                continue
            if status != endpoint.status:
                endpoint.errors.append(f"{request.method} {request.path}: {status} {content[:200]!r}")
            elif record:
                endpoint.times.append(seconds)

    # Daemons: after a SIGTERM the bench exits with the server stopped, not after the burst's last request.
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def drive(port: int, measured: list[Endpoint], *, warmup: int, requests: int, rounds: int, clients: int) -> float:
    """Warm every endpoint up, then take them in turn, a burst each per round, so drift hits all alike."""
    for endpoint in measured:
        burst(port, endpoint, warmup, clients, record=False)
    per_round = math.ceil(requests / rounds)
    began = time.perf_counter()
    for _ in range(rounds):
        for endpoint in measured:
            burst(port, endpoint, per_round, clients, record=True)
    return time.perf_counter() - began


def sent_per_endpoint(*, warmup: int, requests: int, rounds: int) -> int:
    """How many requests drive() sends to each endpoint, warm-up included (writers must have that many fresh)."""
    return warmup + rounds * math.ceil(requests / rounds)
