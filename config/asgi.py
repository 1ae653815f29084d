import os

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, resolve

# A server that imports this without choosing its settings gets the strict ones (bin/serve chooses
# config.settings.serve); development runs through manage.py, whose default is config.settings.local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django.setup(set_prefix=False)


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the synchronous views run as a WSGI worker runs them.

    The async views (the event streams) go through Django's async path. Every other request runs its
    whole middleware chain and view in one hop to one thread per process: in Django's async chain each
    middleware's hooks hop to a thread and back, and each request gets a thread of its own (a new
    database connection each, left behind when persistent). Measured on one request at a time: 6.3 ms
    against WSGI's 4.1 ms before, the same as WSGI after (docs/operations.md).
    """

    def __init__(self):
        super().__init__()
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Without Django's per-request ThreadSensitiveContext: the synchronous part of every request runs
        # in the one thread asgiref keeps for thread-sensitive code, which keeps its connection.
        await self.handle(scope, receive, send)

    async def get_response_async(self, request):
        try:
            view = resolve(request.path_info).func
        except Resolver404:
            view = None
        if view is not None and iscoroutinefunction(view):
            return await super().get_response_async(request)
        return await sync_to_async(self._sync.get_response, thread_sensitive=True)(request)


application = ApiASGIHandler()
