"""EXPLAIN of each list's main ORDER BY … LIMIT query, captured in-process, with a one-line verdict."""

import re
import time
from dataclasses import dataclass

from bench.load import Endpoint

# Scans that read rows (a bitmap heap scan reads what its bitmap index scan found: counted once, there).
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@dataclass
class Plan:
    label: str
    sql: str
    verdict: str
    text: str


def main_query(endpoint: Endpoint) -> str | None:
    """The statement that reads the page: ORDER BY … LIMIT on the list's table (not a count or a prefetch)."""
    ordered = [sql for sql in endpoint.sql if " ORDER BY " in sql and " LIMIT " in sql]
    own = [sql for sql in ordered if re.search(rf'\bFROM "{endpoint.table}"', sql)]
    return (own or ordered or [None])[0]


def explain(measured: list[Endpoint]) -> list[Plan]:
    """A plan for every list endpoint that captured SQL (count_queries ran first)."""
    from django.db import connection

    plans = []
    for endpoint in measured:
        if endpoint.table is None:
            continue
        sql = main_query(endpoint)
        if sql is None:
            plans.append(Plan(endpoint.label, "", "no ORDER BY … LIMIT query among its statements", ""))
            continue
        verdict, text = (_sqlite if connection.vendor == "sqlite" else _postgresql)(connection, sql, endpoint.table)
        plans.append(Plan(endpoint.label, sql, verdict, text))
    return plans


def _postgresql(connection, sql: str, table: str) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        (document,) = cursor.fetchone()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        text = "\n".join(row[0] for row in cursor.fetchall())
    document = document[0] if isinstance(document, list) else document
    root, took = document["Plan"], document["Execution Time"]
    nodes = list(_walk(root))
    sorts = [f"{n['Node Type']} ({n.get('Sort Method', '?')})" for n in nodes if "Sort" in n["Node Type"]]
    # A sequential scan of a table of four stances costs nothing: its rows say whether one matters.
    seq = [f"{n['Relation Name']} ({_read(n):,} rows)" for n in nodes if n["Node Type"] == "Seq Scan"]
    read = sum(_read(n) for n in nodes if n["Node Type"] in SCANS)
    buffers = root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0)
    verdict = (
        f"{_access(nodes, table)}; sort: {'YES, ' + ', '.join(sorts) if sorts else 'none'}; "
        f"seq scan: {', '.join(seq) or 'none'}; rows read {read:,}; buffers {buffers:,}; {took:.2f} ms"
    )
    return verdict, text


def _walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _read(node: dict) -> int:
    """Rows a scan node read: those it returned and those its filters threw away, over every loop."""
    kept = node["Actual Rows"] + node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return round(kept * node["Actual Loops"])


def _access(nodes: list[dict], table: str) -> str:
    """How the plan reaches the list's own table: which index, or none."""
    for node in nodes:
        if node.get("Relation Name") == table and node["Node Type"] in SCANS:
            if node["Node Type"] == "Bitmap Heap Scan":
                names = [n["Index Name"] for n in _walk(node) if "Index Name" in n]
                return f"{table} by Bitmap Heap Scan on {', '.join(names)}"
            index = f" using {node['Index Name']}" if "Index Name" in node else " (NO INDEX)"
            return f"{table} by {node['Node Type']}{index}"
    return f"{table}: not scanned?"


def _sqlite(connection, sql: str, table: str) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        rows = cursor.fetchall()
        steps, took = _vm_steps(connection, cursor, sql)
    depth, lines = {0: -1}, []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append(f"{'  ' * depth[node]}{detail}")
    details = [detail for *_, detail in rows]
    access = next((d for d in details if re.match(rf"(SEARCH|SCAN) {table}\b", d)), f"{table}: not scanned?")
    temp = [d for d in details if "TEMP B-TREE" in d]
    scans = sorted({d.split()[1] for d in details if d.startswith("SCAN ") and " USING " not in d})
    verdict = (
        f"{access}; {'; '.join(temp) or 'no TEMP B-TREE'}; full scan: {', '.join(scans) or 'none'}; "
        f"{steps:,} VM steps; {took:.2f} ms"
    )
    return verdict, "\n".join(lines)


def _vm_steps(connection, cursor, sql: str) -> tuple[int, float]:
    """SQLite's plan gives no row counts: the virtual machine's instructions run for the query stand in for them."""
    raw, counted = connection.connection, [0]
    every = 100

    def tick():
        counted[0] += every
        return 0  # 0: go on

    raw.set_progress_handler(tick, every)
    try:
        began = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        took = (time.perf_counter() - began) * 1000
    finally:
        raw.set_progress_handler(None, every)
    return counted[0], took
