"""Thin glue: parse the request, call a service or selector, serialize the answer."""

import hashlib

from django.conf import settings
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from config.openapi import CONDITIONAL_GET, IDEMPOTENCY_KEY, errors
from discussions import selectors, services
from discussions.filters import ReplyFilter, ThreadFilter
from discussions.serializers import (
    FlagInputSerializer,
    FlagSerializer,
    HistoryBucketSerializer,
    HistoryQuerySerializer,
    PositionHistorySerializer,
    PositionInputSerializer,
    PositionSerializer,
    ProfileSerializer,
    ReplyCreateInputSerializer,
    ReplySerializer,
    ReplyUpdateInputSerializer,
    SearchPageSerializer,
    SearchQuerySerializer,
    SummarySerializer,
    ThreadCreateInputSerializer,
    ThreadSerializer,
    TopicCreateInputSerializer,
    TopicSerializer,
    TopicUpdateInputSerializer,
    VoteInputSerializer,
    VoteResultSerializer,
)
from discussions.summary_cache import summary_cached, topic_summary_json
from forum.idempotency import idempotent


class ThrottledWrites:
    """Writes are throttled per user by the scope named for their action (rates live in the settings)."""

    write_scopes: dict[str, str] = {}

    def get_throttles(self):
        scope = self.write_scopes.get(self.action)
        if scope is None or self.request.method in permissions.SAFE_METHODS:
            return []
        self.throttle_scope = scope
        return [ScopedRateThrottle()]


class _Rendered(Response):
    """A Response whose JSON is rendered already (the ETag hashed those bytes): sent as it is, not rendered again."""

    def __init__(self, data, body: bytes):
        super().__init__(data)
        self.rendered_json = body

    @property
    def rendered_content(self):
        renderer = getattr(self, "accepted_renderer", None)
        # The bytes are what this renderer would make, unless the client asked for another renderer or an indent.
        plain = type(renderer) is JSONRenderer
        if plain and renderer.get_indent(self.accepted_media_type, self.renderer_context) is None:
            self["Content-Type"] = renderer.media_type  # as Response sets it for a renderer without a charset
            return self.rendered_json
        return super().rendered_content


def _conditional(request, data, last_modified):
    """Answer 304 when the client's ETag (or date) still matches; summaries are polled."""
    body = JSONRenderer().render(data)
    etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    timestamp = int(last_modified.timestamp()) if last_modified else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=timestamp)
    response = not_modified if not_modified is not None else _Rendered(data, body)
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    response["Cache-Control"] = "no-cache"  # store it, but ask again each time: the answer is cheap to confirm
    return response


# A summary's GET: conditional (ETag, If-None-Match, 304), as _conditional answers it.
_summary_schema = extend_schema(
    parameters=CONDITIONAL_GET,
    responses={200: SummarySerializer, 304: OpenApiResponse(description="Unchanged since that ETag."), **errors(404)},
)


def _vote_result(reply, value) -> dict:
    """A vote's answer from the reply row the vote's transaction moved (no read after the commit)."""
    result = {"reply": reply.pk, "value": value, "upvotes": reply.upvotes, "downvotes": reply.downvotes}
    return VoteResultSerializer({**result, "score": reply.score}).data


def _filters_given(request, filterset_class) -> dict:
    """The list filters a request gives (ordering aside), each cleaned by its own form field."""
    # The filter backend has already refused bad values with a 400; fresh form fields rather than a second
    # FilterSet (deep copies of every filter), and rather than `.field`, which would cache one on the class.
    params, given = request.query_params, {}
    for name, declared in filterset_class.base_filters.items():
        if name != "ordering" and params.get(name, "") != "":
            value = declared.field_class(**declared.extra).clean(params[name])
            if value not in (None, ""):  # cleaned to nothing (blank): the filter does not apply
                given[name] = value
    return given


def _valid(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(responses={200: TopicSerializer, **errors(400, 401, 404)}),
    retrieve=extend_schema(responses={200: TopicSerializer, **errors(401, 404)}),
    create=extend_schema(
        request=TopicCreateInputSerializer, responses={201: TopicSerializer, **errors(400, 401, 403, 415)}
    ),
    partial_update=extend_schema(
        request=TopicUpdateInputSerializer, responses={200: TopicSerializer, **errors(400, 401, 403, 404, 415)}
    ),
)
class TopicViewSet(
    ThrottledWrites, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Debate questions and their stances. Anyone reads; topic managers write, moderators lock (the services decide)."""

    serializer_class = TopicSerializer
    write_scopes = {"position": "position"}
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"  # a slug; anything else (a NUL, say) never reaches the database
    # PUT is for a caller's position; the topic itself changes by PATCH only (no `update` here).
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.topic_list()

    def known_count(self) -> int:
        # Topics are few and made by hand (no counter grows with the debate), so counting them stays cheap.
        return self.get_queryset().count()

    def create(self, request, *args, **kwargs):
        data = _valid(TopicCreateInputSerializer, request)
        topic = services.topic_create(actor=request.user, **data)
        return Response(TopicSerializer(selectors.topic_get(slug=topic.slug)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        topic = self.get_object()
        data = _valid(TopicUpdateInputSerializer, request)
        services.topic_update(actor=request.user, topic=topic, **data)
        return Response(TopicSerializer(selectors.topic_get(slug=topic.slug)).data)

    @_summary_schema
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def summary(self, request, slug=None):
        """How each stance of the topic is doing. Send If-None-Match with the last ETag to get 304."""
        data, last_modified = topic_summary_json(topic=selectors.topic_for_summary(slug=slug))
        return _conditional(request, data, last_modified)

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses={200: HistoryBucketSerializer(many=True), **errors(400, 401, 404)},
        filters=False,
    )
    # Not paginated: the answer is the whole (bounded) list of buckets, and the schema must not say otherwise.
    @action(
        detail=True,
        methods=["get"],
        url_path="summary/history",
        permission_classes=[permissions.AllowAny],
        pagination_class=None,
    )
    def summary_history(self, request, slug=None):
        """Per day or week and per stance: new replies, upvotes and positions held, oldest first."""
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        history = selectors.summary_history(topic=selectors.topic_get(slug=slug), bucket=query.validated_data["bucket"])
        return Response(HistoryBucketSerializer(history, many=True).data)

    @extend_schema(responses={200: ReplySerializer(many=True), **errors(400, 401, 404)}, filters=False)
    @action(detail=True, methods=["get"], url_path="common-ground", permission_classes=[permissions.AllowAny])
    def common_ground(self, request, slug=None):
        """Replies that voters of every stance rate up, by bridging score, best first."""
        replies = selectors.common_ground(topic=selectors.topic_get(slug=slug))
        page = self.paginate_queryset(replies)
        return self.get_paginated_response(ReplySerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: PositionHistorySerializer, **errors(401, 404)})
    @extend_schema(
        methods=["PUT"],
        request=PositionInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: PositionSerializer, **errors(400, 401, 403, 404, 409, 415, 429)},
    )
    @action(detail=True, methods=["get", "put"], permission_classes=[permissions.IsAuthenticated])
    def position(self, request, slug=None):
        """The caller's declared side on the topic; a change is kept as history, never overwritten."""
        if request.method == "PUT":
            data = _valid(PositionInputSerializer, request)

            def answer(position):
                # A change knows the stance it left; the same stance again does not, and reads the one before
                # (one row of the history index), never the whole history.
                if hasattr(position, "previous"):
                    previous = position.previous
                else:
                    previous = selectors.position_before(position=position)
                return PositionSerializer(
                    {"stance": position.stance, "since": position.since, "previous": previous}
                ).data

            return idempotent(
                request,
                status=status.HTTP_200_OK,
                write=lambda on_written: services.position_set(
                    actor=request.user,
                    topic_slug=slug,
                    stance_slug=data["stance"],
                    persuaded_by_id=data["persuaded_by"],
                    on_written=on_written,
                ),
                answer=answer,
            )
        history = selectors.position_history(user=request.user, topic=selectors.topic_get(slug=slug))
        if not history:
            raise NotFound("You have not declared a position on this topic.")
        current = history[-1]
        return Response(
            PositionHistorySerializer({"stance": current.stance.slug, "since": current.since, "history": history}).data
        )


@extend_schema_view(
    list=extend_schema(responses={200: ThreadSerializer, **errors(400, 401, 404)}),
    retrieve=extend_schema(responses={200: ThreadSerializer, **errors(401, 404)}),
    create=extend_schema(
        request=ThreadCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ThreadSerializer, **errors(400, 401, 403, 409, 415, 429)},
    ),
)
class ThreadViewSet(
    ThrottledWrites, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Threads of a topic; posting one posts its opening reply too."""

    serializer_class = ThreadSerializer
    filterset_class = ThreadFilter
    lookup_value_regex = r"[0-9]+"
    write_scopes = {"create": "post"}

    def get_queryset(self):
        return selectors.thread_list()

    def known_count(self) -> int | None:
        """All threads, or one topic's, unfiltered otherwise: from the topics' thread counters."""
        given = _filters_given(self.request, ThreadFilter)
        if given == {} or set(given) == {"topic"}:
            return selectors.thread_count_known(topic_slug=given.get("topic"))
        return None

    def create(self, request, *args, **kwargs):
        data = _valid(ThreadCreateInputSerializer, request)
        return idempotent(
            request,
            status=status.HTTP_201_CREATED,
            write=lambda on_written: services.thread_create(
                actor=request.user,
                topic_slug=data["topic"],
                title=data["title"],
                body=data["body"],
                stance_slug=data["stance"],
                on_written=on_written,
            ),
            answer=lambda thread: ThreadSerializer(selectors.thread_get(pk=thread.pk)).data,
        )

    @_summary_schema
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def summary(self, request, pk=None):
        """How each stance is doing within this thread. Conditional GET as for a topic's summary."""
        thread = selectors.thread_for_summary(pk=pk)

        def compute():
            summary, last_modified = selectors.thread_summary(thread=thread)
            return SummarySerializer(summary).data, last_modified

        data, last_modified = summary_cached(topic_id=thread.topic_id, name=f"thread-{thread.pk}", compute=compute)
        return _conditional(request, data, last_modified)


@extend_schema_view(
    list=extend_schema(responses={200: ReplySerializer, **errors(400, 401, 404)}),
    retrieve=extend_schema(responses={200: ReplySerializer, **errors(401, 404)}),
    create=extend_schema(
        request=ReplyCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ReplySerializer, **errors(400, 401, 403, 409, 415, 429)},
    ),
    partial_update=extend_schema(
        request=ReplyUpdateInputSerializer,
        responses={200: ReplySerializer, **errors(400, 401, 403, 404, 415, 429)},
    ),
    destroy=extend_schema(
        description="Withdraw the reply: it leaves every list and count but is never erased.",
        responses={204: None, **errors(401, 403, 404)},
    ),
)
class ReplyViewSet(
    ThrottledWrites,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Stance-tagged replies: post, edit, withdraw, vote."""

    serializer_class = ReplySerializer
    filterset_class = ReplyFilter
    lookup_value_regex = r"[0-9]+"
    write_scopes = {"create": "post", "partial_update": "post", "vote": "vote"}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.reply_list()

    def known_count(self) -> int | None:
        """All replies, one topic's or one thread's, unfiltered otherwise, are as many as their counter says."""
        given = _filters_given(self.request, ReplyFilter)
        if given == {}:
            return selectors.reply_count_known()
        if set(given) == {"topic"}:
            return selectors.reply_count_known(topic_slug=given["topic"])
        if set(given) == {"thread"}:
            return selectors.reply_count_known(thread_id=given["thread"])
        return None

    def create(self, request, *args, **kwargs):
        data = _valid(ReplyCreateInputSerializer, request)
        return idempotent(
            request,
            status=status.HTTP_201_CREATED,
            write=lambda on_written: services.reply_create(
                actor=request.user,
                thread_id=data["thread"],
                body=data["body"],
                stance_slug=data["stance"],
                parent_id=data["parent"],
                on_written=on_written,
            ),
            answer=lambda reply: ReplySerializer(selectors.reply_written(reply=reply)).data,
        )

    # The services look the reply up themselves (visible only, row-locked), so these skip get_object().
    def partial_update(self, request, pk=None):
        data = _valid(ReplyUpdateInputSerializer, request)
        reply = services.reply_update(
            actor=request.user, reply_id=int(pk), body=data.get("body"), stance_slug=data.get("stance")
        )
        return Response(ReplySerializer(selectors.reply_get(pk=reply.pk)).data)

    def destroy(self, request, pk=None):
        services.reply_withdraw(actor=request.user, reply_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["POST"],
        request=VoteInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: VoteResultSerializer, **errors(400, 401, 403, 404, 409, 415, 429)},
        description="Vote the reply up (1) or down (-1). The same vote again changes nothing; the other moves it.",
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={
            200: OpenApiResponse(VoteResultSerializer, description="The tallies after the retraction."),
            **errors(401, 403, 404, 429),
        },
        description="Retract the caller's vote (a no-op when there is none).",
    )
    @action(detail=True, methods=["post", "delete"], permission_classes=[permissions.IsAuthenticated])
    def vote(self, request, pk=None):
        if request.method == "DELETE":
            reply = services.vote_retract(actor=request.user, reply_id=int(pk))
            return Response(_vote_result(reply, None))
        data = _valid(VoteInputSerializer, request)
        return idempotent(
            request,
            status=status.HTTP_200_OK,
            write=lambda on_written: services.vote_cast(
                actor=request.user, reply_id=int(pk), value=data["value"], on_written=on_written
            ),
            answer=lambda vote: _vote_result(vote.reply, vote.value),
        )


class FlagApi(APIView):
    """Report a reply to the moderators' queue."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "flag"

    @extend_schema(
        request=FlagInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: FlagSerializer, **errors(400, 401, 403, 404, 409, 415, 429)},
    )
    def post(self, request, pk: int):
        data = _valid(FlagInputSerializer, request)
        return idempotent(
            request,
            status=status.HTTP_201_CREATED,
            write=lambda on_written: services.flag_create(
                actor=request.user, reply_id=pk, on_written=on_written, **data
            ),
            answer=lambda flag: FlagSerializer(flag).data,
        )


class ProfileApi(APIView):
    """A user's public profile: anyone may read it."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: ProfileSerializer, **errors(404)})
    def get(self, request, username: str):
        return Response(ProfileSerializer(selectors.user_profile(username=username)).data)


class SearchApi(APIView):
    """Full-text search of visible replies, best match first (PostgreSQL tsvector, SQLite FTS5)."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "search"

    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses={200: SearchPageSerializer, **errors(400, 401, 429)},
        filters=False,
    )
    def get(self, request):
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        page, size = (
            params.pop("page"),
            min(params.pop("page_size", None) or settings.REST_FRAMEWORK["PAGE_SIZE"], settings.API_MAX_PAGE_SIZE),
        )
        # Ranked results page by offset (a rank is computed, no index holds it); one more row tells of a next page.
        found = selectors.search_results(**params, offset=(page - 1) * size, limit=size + 1)
        url = request.build_absolute_uri()
        results = [
            {
                "reply": reply,
                "thread": reply.thread_id,
                "thread_title": reply.thread_title,
                "topic": reply.topic_slug,
                "stance": reply.stance_slug,
                "snippet": hit.snippet,
                "rank": hit.rank,
            }
            for reply, hit in found[:size]
        ]
        return Response(
            SearchPageSerializer(
                {
                    "count": None,
                    "next": replace_query_param(url, "page", page + 1) if len(found) > size else None,
                    "previous": (
                        replace_query_param(url, "page", page - 1) if page > 2 else remove_query_param(url, "page")
                    )
                    if page > 1
                    else None,
                    "results": results,
                }
            ).data
        )
