"""Full-text search over replies: a weighted tsvector with a GIN index on PostgreSQL, an FTS5 table on SQLite.

Both index the thread's title (weighted above the body) and the reply's body, kept in the writing service's
own transaction, and both take the same query language: words (stemmed), "quoted phrases" and -excluded
words. The user's text never reaches either engine's syntax: it is parsed here into words, and only words
(letters and digits) are written back out, quoted, in each engine's own form.
"""

import html
import re
from dataclasses import dataclass, field

from django.db import connection

from forum.errors import Invalid
from forum.rawsql import prepared_cursor

MAX_QUERY_LENGTH = 500
MAX_TERMS = 16
CANDIDATES = 1000  # the newest matches ranked for a page (see _PG_FIND)
TABLE = "discussions_reply_search"
# Snippet markers: control characters, which no stored body or title can hold (discussions/text.py refuses
# them), so escaping the snippet and then turning these into <mark> cannot mark anything the author wrote.
_OPEN, _CLOSE = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_PART = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
# Title above body: PostgreSQL's weights A and B, FTS5's bm25 column weights.
_PG_CONFIG = "english"
_FTS_WEIGHTS = (10.0, 1.0)
# PostgreSQL's parser reads <…> as markup and skips what follows a <script>; a body is Markdown, where < is
# text, so the brackets are blanked for indexing (and swapped for control characters in the headline, then
# back once escaped).
_PG_TITLE = f"setweight(to_tsvector('{_PG_CONFIG}', translate({{title}}, '<>', '  ')), 'A')"
_PG_BODY = f"setweight(to_tsvector('{_PG_CONFIG}', translate({{body}}, '<>', '  ')), 'B')"
_PG_DOCUMENT = f"{_PG_TITLE} || {_PG_BODY}"
_LT, _GT = "\x04", "\x05"


@dataclass
class Query:
    """What to find: each phrase is a list of words (a single word is a one-word phrase)."""

    include: list[list[str]] = field(default_factory=list)
    exclude: list[list[str]] = field(default_factory=list)


@dataclass
class Hit:
    reply_id: int
    rank: float
    snippet: str


def parse(text: str) -> Query:
    """The words, phrases and exclusions of a user's query; Invalid on `q` when nothing in it can be found."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid.on("q", "Give some words to search for.")
    if len(text) > MAX_QUERY_LENGTH:
        raise Invalid.on("q", f"Ensure the query has no more than {MAX_QUERY_LENGTH} characters.")
    if "\x00" in text:
        raise Invalid.on("q", "Control characters are not allowed.")
    query = Query()
    for match in _PART.finditer(text):
        negated = bool(match.group(1) or match.group(3))
        words = [w.lower() for w in _WORD.findall(match.group(2) if match.group(2) is not None else match.group(4))]
        if words:
            (query.exclude if negated else query.include).append(words)
    if not query.include:
        raise Invalid.on("q", "Give at least one word to find (letters or digits), not only exclusions.")
    if len(query.include) + len(query.exclude) > MAX_TERMS:
        raise Invalid.on("q", f"Use at most {MAX_TERMS} words and phrases.")
    return query


def _websearch(query: Query) -> str:
    """PostgreSQL's websearch_to_tsquery input, rebuilt from parsed words only."""
    terms = [f'"{" ".join(words)}"' for words in query.include]
    terms += [f'-"{" ".join(words)}"' for words in query.exclude]
    return " ".join(terms)


def _fts5(query: Query, topic_id: int | None = None) -> str:
    """An FTS5 MATCH expression, every word a quoted string (letters and digits only, so no quote inside), the
    user's words in the title and body columns only; with a topic, intersected with that topic's scope word."""
    positive = " ".join(f'"{" ".join(words)}"' for words in query.include)
    words = f"({positive})" + "".join(f' NOT "{" ".join(words)}"' for words in query.exclude)
    expression = f"{{title body}} : ({words})"
    return expression if topic_id is None else f'scope : "topic{int(topic_id)}" AND {expression}'


def snippet_html(raw: str) -> str:
    """A snippet as HTML: everything escaped, then the engine's markers made <mark> elements."""
    escaped = html.escape(raw, quote=False).replace(_LT, "&lt;").replace(_GT, "&gt;")
    return escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


# --- Keeping the index ----------------------------------------------------------------------------------


def index_reply(*, reply_id: int, thread_id: int, body: str) -> None:
    """(Re)index one reply with its thread's title; call inside the writing service's transaction."""
    with prepared_cursor() as cursor:  # every new reply and edit sends it
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {TABLE} (reply_id, topic_id, document) "
                f"SELECT %s, t.topic_id, {_PG_DOCUMENT.format(title='t.title', body='%s')} "
                "FROM discussions_thread t WHERE t.id = %s "
                "ON CONFLICT (reply_id) DO UPDATE SET document = EXCLUDED.document",
                [reply_id, body, thread_id],
            )
        else:
            cursor.execute(
                f"INSERT OR REPLACE INTO {TABLE} (rowid, title, body, scope) "
                "SELECT %s, t.title, %s, 'topic' || t.topic_id FROM discussions_thread t WHERE t.id = %s",
                [reply_id, body, thread_id],
            )


def index_rebuild(*, topic_id: int | None = None) -> int:
    """Index every reply (or one topic's) from the tables, in one statement; returns how many rows were written."""
    where, params = ("WHERE r.topic_id = %s", [topic_id]) if topic_id is not None else ("", [])
    source = f"FROM discussions_reply r JOIN discussions_thread t ON t.id = r.thread_id {where}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The document is the title's vector and the body's, concatenated: each thread's title is made into
            # a vector once here, not once per reply (MATERIALIZED keeps the planner from inlining it back).
            threads = "WHERE topic_id = %s" if topic_id is not None else ""
            cursor.execute(
                f"WITH titles AS MATERIALIZED (SELECT id, {_PG_TITLE.format(title='title')} AS vector "
                f"FROM discussions_thread {threads}) "
                f"INSERT INTO {TABLE} (reply_id, topic_id, document) "
                f"SELECT r.id, r.topic_id, titles.vector || {_PG_BODY.format(body='r.body')} "
                f"FROM discussions_reply r JOIN titles ON titles.id = r.thread_id {where} "
                "ON CONFLICT (reply_id) DO UPDATE SET document = EXCLUDED.document",
                params * 2,
            )
        else:
            cursor.execute(
                f"INSERT OR REPLACE INTO {TABLE} (rowid, title, body, scope) "
                f"SELECT r.id, t.title, r.body, 'topic' || r.topic_id {source}",
                params,
            )
        return cursor.rowcount


# --- Searching ------------------------------------------------------------------------------------------


def find(query: Query, *, filters: dict, offset: int, limit: int, visible_only: bool = True) -> list[Hit]:
    """Replies matching the query (visible ones only, unless for moderators), best first, with snippets."""
    clauses, params = ["r.state = 'visible'" if visible_only else "TRUE"], {}
    for column in ("topic_id", "stance_id", "thread_id", "author_id"):
        if filters.get(column) is not None:
            clauses.append(f"r.{column} = %({column})s")
            params[column] = filters[column]
    if connection.vendor == "postgresql" and "topic_id" in params:
        clauses.append("s.topic_id = %(topic_id)s")  # the entry's own copy, which its index serves
    where = " AND ".join(clauses)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = _PG_FIND.format(table=TABLE, config=_PG_CONFIG, where=where, candidates=CANDIDATES)
            cursor.execute(sql, {"q": _websearch(query), "limit": limit, "offset": offset, **params})
            rows = cursor.fetchall()
        else:
            title, body = _FTS_WEIGHTS
            sql = _FTS_FIND.format(table=TABLE, where=where, title=title, body=body, candidates=CANDIDATES)
            match = _fts5(query, params.get("topic_id"))
            cursor.execute(sql, {"q": match, "limit": limit, "offset": offset, **params})
            ranked = cursor.fetchall()
            snippets = {}
            if ranked:
                ids = ", ".join(str(int(reply_id)) for reply_id, _ in ranked)
                cursor.execute(_FTS_SNIPPETS.format(table=TABLE, ids=ids), [match])
                snippets = dict(cursor.fetchall())
            rows = [(reply_id, rank, snippets.get(reply_id)) for reply_id, rank in ranked]
        return [Hit(reply_id=row[0], rank=float(row[1]), snippet=snippet_html(row[2] or "")) for row in rows]


# Ranking every match of a common word grows with the debate (at 50k replies most of them hold "testers"),
# so the newest CANDIDATES matches are ranked and the page is the best of those: the read stays as dear at any
# size. The page is chosen first and only its rows get a headline, which reads the whole body.
# The tsquery is written out where it is used, not read from a CTE: as a constant the planner estimates its
# matches from the lexeme statistics and walks the newest entries for a common word, the GIN index for a rare one.
_PG_FIND = """
WITH matches AS (
    SELECT s.reply_id, s.document
    FROM "{table}" s JOIN discussions_reply r ON r.id = s.reply_id
    WHERE s.document @@ websearch_to_tsquery('{config}', %(q)s) AND {where}
    ORDER BY s.reply_id DESC
    LIMIT {candidates}
),
page AS (
    SELECT m.reply_id AS id, ts_rank(m.document, websearch_to_tsquery('{config}', %(q)s)) AS rank
    FROM matches m
    ORDER BY rank DESC, id DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT page.id, page.rank,
       ts_headline('{config}', translate(r.body, '<>', chr(4) || chr(5)), websearch_to_tsquery('{config}', %(q)s),
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=30, MinWords=12, MaxFragments=2')
FROM page JOIN discussions_reply r ON r.id = page.id
ORDER BY page.rank DESC, page.id DESC
"""

# FTS5 hands matches out newest rowid first without sorting; bm25 is computed for those rows only.
_FTS_FIND = """
WITH matches AS (
    SELECT "{table}".rowid AS id, -bm25("{table}", {title}, {body}, 0.0) AS rank
    FROM "{table}" JOIN discussions_reply r ON r.id = "{table}".rowid
    WHERE "{table}" MATCH %(q)s AND {where}
    ORDER BY "{table}".rowid DESC
    LIMIT {candidates}
)
SELECT id, rank FROM matches ORDER BY rank DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s
"""

_FTS_SNIPPETS = """
SELECT rowid, snippet("{table}", 1, char(2), char(3), '…', 24)
FROM "{table}" WHERE "{table}" MATCH %s AND rowid IN ({ids})
"""
