"""Thin glue: parse the request, call a service or selector, serialize the answer."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from discussions import selectors, services
from discussions.filters import ReplyFilter, ThreadFilter
from discussions.serializers import (
    ReplyCreateInputSerializer,
    ReplySerializer,
    ReplyUpdateInputSerializer,
    SummarySerializer,
    ThreadCreateInputSerializer,
    ThreadSerializer,
    TopicCreateInputSerializer,
    TopicSerializer,
    TopicUpdateInputSerializer,
    VoteInputSerializer,
    VoteResultSerializer,
)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def _valid(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    create=extend_schema(request=TopicCreateInputSerializer, responses={201: TopicSerializer}),
    partial_update=extend_schema(request=TopicUpdateInputSerializer, responses={200: TopicSerializer}),
)
class TopicViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Debate questions and their stances. Anyone reads; staff write."""

    serializer_class = TopicSerializer
    permission_classes = [IsStaffOrReadOnly]
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.topic_list()

    def create(self, request, *args, **kwargs):
        data = _valid(TopicCreateInputSerializer, request)
        topic = services.topic_create(**data)
        return Response(TopicSerializer(selectors.topic_get(slug=topic.slug)).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        topic = self.get_object()
        data = _valid(TopicUpdateInputSerializer, request)
        services.topic_update(topic=topic, **data)
        return Response(TopicSerializer(selectors.topic_get(slug=topic.slug)).data)

    @extend_schema(responses={200: SummarySerializer})
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def summary(self, request, slug=None):
        """How each stance of the topic is doing."""
        topic = selectors.topic_get(slug=slug)
        return Response(SummarySerializer(selectors.topic_summary(topic=topic)).data)


@extend_schema_view(create=extend_schema(request=ThreadCreateInputSerializer, responses={201: ThreadSerializer}))
class ThreadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Threads of a topic; posting one posts its opening reply too."""

    serializer_class = ThreadSerializer
    filterset_class = ThreadFilter
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.thread_list()

    def create(self, request, *args, **kwargs):
        data = _valid(ThreadCreateInputSerializer, request)
        thread = services.thread_create(
            actor=request.user,
            topic_slug=data["topic"],
            title=data["title"],
            body=data["body"],
            stance_slug=data["stance"],
        )
        return Response(ThreadSerializer(selectors.thread_get(pk=thread.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SummarySerializer})
    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def summary(self, request, pk=None):
        """How each stance is doing within this thread."""
        thread = selectors.thread_for_summary(pk=pk)
        return Response(SummarySerializer(selectors.thread_summary(thread=thread)).data)


@extend_schema_view(
    create=extend_schema(request=ReplyCreateInputSerializer, responses={201: ReplySerializer}),
    partial_update=extend_schema(request=ReplyUpdateInputSerializer, responses={200: ReplySerializer}),
    destroy=extend_schema(description="Withdraw the reply: it leaves every list and count but is never erased."),
)
class ReplyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Stance-tagged replies: post, edit, withdraw, vote."""

    serializer_class = ReplySerializer
    filterset_class = ReplyFilter
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.reply_list()

    def create(self, request, *args, **kwargs):
        data = _valid(ReplyCreateInputSerializer, request)
        reply = services.reply_create(
            actor=request.user,
            thread_id=data["thread"],
            body=data["body"],
            stance_slug=data["stance"],
            parent_id=data["parent"],
        )
        return Response(ReplySerializer(selectors.reply_get(pk=reply.pk)).data, status=status.HTTP_201_CREATED)

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
        responses={200: VoteResultSerializer},
        description="Vote the reply up (1) or down (-1). The same vote again changes nothing; the other moves it.",
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={200: OpenApiResponse(VoteResultSerializer, description="The tallies after the retraction.")},
        description="Retract the caller's vote (a no-op when there is none).",
    )
    @action(detail=True, methods=["post", "delete"], permission_classes=[permissions.IsAuthenticated])
    def vote(self, request, pk=None):
        if request.method == "DELETE":
            reply = services.vote_retract(actor=request.user, reply_id=int(pk))
            value = None
        else:
            data = _valid(VoteInputSerializer, request)
            vote = services.vote_cast(actor=request.user, reply_id=int(pk), value=data["value"])
            reply, value = vote.reply, vote.value
        result = {
            "reply": reply.pk,
            "value": value,
            "upvotes": reply.upvotes,
            "downvotes": reply.downvotes,
            "score": reply.score,
        }
        return Response(VoteResultSerializer(result).data)
