"""Print a pass's table: reads at both sizes with their ratios, then the writes, each against the issue's targets."""

import math
import re

from bench.load import Endpoint
from bench.plans import Plan

SIZE_TARGET = 1.3  # large p50 / small p50, for every read


def mark(ratio: float, target: float | None) -> str:
    if target is None or math.isnan(ratio):
        return f"{ratio:>6.2f}       "
    return f"{ratio:>6.2f} {'met' if ratio <= target else 'MISSED':<6}"


def by_size(measured: list[Endpoint]) -> dict[str, dict[str, Endpoint]]:
    """Reads by label, then size: a row is one read of the small topic and the same read of the large one."""
    rows: dict[str, dict[str, Endpoint]] = {}
    for endpoint in measured:
        if endpoint.kind == "read":
            rows.setdefault(endpoint.label, {})[endpoint.size] = endpoint
    return rows


def report(name: str, measured: list[Endpoint], elapsed: float, clients: int, workers: str) -> int:
    """Print the pass's tables; returns how many requests failed."""
    total = sum(len(e.times) for e in measured)
    print(f"\n== pass '{name}': {clients} clients, {workers}; {total:,} timed requests in {elapsed:.1f} s")
    print(
        f"p50/p95 in ms, q = queries per request; targets: large/small <= {SIZE_TARGET}, "
        "size/floor <= 2.0 (summaries <= 1.5); 'best, deep ?page=N' is for information"
    )
    rows = by_size(measured)
    floor = {size: e.p50() for size, e in rows["floor: topic detail"].items()}
    header = (
        f"{'read':<27}{'small p50':>10}{'p95':>8}{'q':>3} {'large p50':>10}{'p95':>8}{'q':>3} "
        f"{'large/small':>13} {'small/floor':>13} {'large/floor':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, sizes in rows.items():
        small, large = sizes.get("small"), sizes.get("large")
        line = f"{label:<27}"
        for e in (small, large):
            line += f"{e.p50():>10.2f}{e.p95():>8.2f}{e.queries or 0:>3} " if e else f"{'-':>10}{'-':>8}{'-':>3} "
        some = large or small
        target = None if some.info else some.floor_target
        size_ratio = large.p50() / small.p50() if small and large else math.nan
        line += mark(size_ratio, None if some.info else SIZE_TARGET)
        for size, e in (("small", small), ("large", large)):
            line += mark(e.p50() / floor[size] if e else math.nan, target)
        print(line.rstrip())

    writes = [e for e in measured if e.kind == "write"]
    if writes:
        print(f"\n{'write (large topic)':<27}{'p50':>10}{'p95':>8}{'q':>3} {'/ large floor':>14}{'target':>9}")
        for e in writes:
            ratio = e.p50() / floor["large"]
            verdict = "met" if ratio <= e.floor_target else "MISSED"
            target = f"<= {e.floor_target}"
            line = f"{e.label:<27}{e.p50():>10.2f}{e.p95():>8.2f}{e.queries or 0:>3} {ratio:>14.2f}{target:>9}"
            print(f"{line}  {verdict}")

    failed = 0
    for e in measured:
        if e.errors:
            failed += len(e.errors)
            print(f"  {len(e.errors)} failed: {e.label} ({e.size}), first: {e.errors[0]}")
    return failed


def deep_pages(picks: dict) -> str:
    """Which page the deep-page rows time, for each size."""
    parts = []
    for size, p in picks.items():
        parts.append(f"{size} page {p.deep_number:,}{' (the last)' if p.deep_last else ''}")
    return "deep page: " + ", ".join(parts) + ", reached by following `next` from page 1"


def plans(found: list[Plan], vendor: str) -> None:
    """The verdicts, one line per list, then every plan in full."""
    how = "EXPLAIN QUERY PLAN" if vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS)"
    print(f"\n== {how} of each list's main query on the large topic")
    for plan in found:
        print(f"{plan.label:<27} {plan.verdict}")
    for plan in found:
        # The column list is the same long one in every reply list: left out, the WHERE and ORDER BY show.
        sql = re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", plan.sql, count=1)
        print(f"\n--- {plan.label}\n{sql}\n\n{plan.text}")
