import functools
import os

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, resolve, set_script_prefix

# A server that imports this without choosing its settings gets the strict ones (bin/serve chooses
# config.settings.serve); development runs through manage.py, whose default is config.settings.local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django.setup(set_prefix=False)


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each synchronous request run whole in one hop, as a WSGI worker runs it.

    The async views (the event streams) take Django's async path unchanged (docs/operations.md, "Choosing the server").
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
        if _is_async_view(scope):
            await self.handle(scope, receive, send)
        else:
            await self._handle_sync(scope, receive, send)

    async def _handle_sync(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope, body_file):
        """The request's whole synchronous part, in one thread: what Django's handler spreads over three hops."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self._sync.get_response(request)
            response._handler_class = self.__class__
        if not response.streaming:
            # The body is in memory: closing now fires request_finished (which returns the connection)
            # in this thread, as WSGI does, instead of a hop of its own after the send.
            response.close()
        return response


def _is_async_view(scope) -> bool:
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return _resolves_to_coroutine(path)


@functools.lru_cache(maxsize=4096)
def _resolves_to_coroutine(path: str) -> bool:
    # Resolving costs about as much as the rest of the event loop's share of a request; paths repeat.
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


application = ApiASGIHandler()
