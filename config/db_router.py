"""Reads to the replica, writes (and every read of a write request) to the primary."""

from contextvars import ContextVar

from django.db import connections
from rest_framework.permissions import SAFE_METHODS

PRIMARY, REPLICA = "default", "replica"
_on_primary = ContextVar("read_from_primary", default=False)


class PrimaryReplicaRouter:
    """Active when DATABASE_REPLICA_URL is set (config.settings.base adds the `replica` alias)."""

    def db_for_read(self, model, **hints):
        # Inside a transaction or a write request, reads must see what this request wrote (and what
        # it locked), which a lagging replica may not have yet.
        if _on_primary.get() or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one logical database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY  # the replica receives the schema by replication


class PrimaryForWritesMiddleware:
    """Send every query of a POST/PUT/PATCH/DELETE request to the primary."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _on_primary.set(request.method not in SAFE_METHODS)
        try:
            return self.get_response(request)
        finally:
            _on_primary.reset(token)
