"""The full-text index of replies: not a Django model, since each database keeps it its own way."""

from django.db import migrations

PG_CREATE = [
    # No foreign key: stale rows are harmless (every search joins the reply, visible ones only), and a key
    # here would stop the test runner's TRUNCATE of the reply table.
    "CREATE TABLE discussions_reply_search (reply_id bigint PRIMARY KEY, topic_id bigint NOT NULL, "
    "document tsvector NOT NULL)",
    "CREATE INDEX discussions_reply_search_gin ON discussions_reply_search USING gin (document)",
    # A topic's newest entries first: how a common word is searched in one topic of many (see search.py).
    "CREATE INDEX discussions_reply_search_topic ON discussions_reply_search (topic_id, reply_id)",
]
SQLITE_CREATE = [
    # scope holds one word, "topic<id>": a topic's search is then an FTS5 phrase it intersects with, rather
    # than a filter on rows the table hands out newest first from every topic.
    "CREATE VIRTUAL TABLE discussions_reply_search USING fts5(title, body, scope, tokenize = 'porter unicode61')",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = PG_CREATE if vendor == "postgresql" else SQLITE_CREATE if vendor == "sqlite" else None
    if statements is None:
        raise RuntimeError(f"Full-text search supports PostgreSQL and SQLite, not {vendor}.")
    for statement in statements:
        schema_editor.execute(statement)
    from discussions import search

    search.index_rebuild()


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE discussions_reply_search")


class Migration(migrations.Migration):
    dependencies = [("discussions", "0009_formatted_bodies")]

    operations = [migrations.RunPython(create, drop)]
