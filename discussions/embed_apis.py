"""The embed API: a topic by its article's URL, oEmbed for CMSs, and the stance badge (docs/embedding.md).

Reads only, answered to any page; a script on an allowed origin may also read them (CORS, no credentials).
"""

import hashlib

from django.http import HttpResponse
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.html import format_html
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.openapi import BADGE_CONDITIONAL_GET, errors
from discussions import selectors
from discussions.badge import badge_svg
from discussions.embed_serializers import EmbedQuerySerializer, EmbedSerializer, OEmbedQuerySerializer, OEmbedSerializer
from discussions.embedding import allow_cross_origin_read, source_key
from discussions.models import Topic
from discussions.serializers import TopicSerializer
from discussions.summary_cache import topic_summary_json

OEMBED_WIDTH, OEMBED_HEIGHT = 640, 560
PROVIDER_NAME = "Stance debate forum"
WIDGET_PATH = "/embed/topics/"


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def _topic_of_article(url: str) -> Topic:
    """The topic under that article (404 otherwise); the article itself is never fetched."""
    topic = selectors.topic_list().filter(source_key=source_key(url)).first()
    if topic is None:
        raise NotFound("No debate sits under this article.")
    return topic


def widget_url(request, topic: Topic) -> str:
    return request.build_absolute_uri(reverse("embed-widget", kwargs={"slug": topic.slug}))


class JsonAnswers(BaseContentNegotiation):
    """JSON whatever Accept or `?format=` say: oEmbed's `format` is its own parameter, and the badge answers SVG
    itself (DRF renders only its errors)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        json = next(renderer for renderer in renderers if renderer.format == "json")
        return json, json.media_type

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None


class EmbedRead(APIView):
    """Anyone reads; a script on an allowed origin may read the answer too, errors included."""

    permission_classes = [permissions.AllowAny]

    def finalize_response(self, request, response, *args, **kwargs):
        return allow_cross_origin_read(request, super().finalize_response(request, response, *args, **kwargs))


class EmbedApi(EmbedRead):
    """The debate under an article: its topic, its summary and the widget's address."""

    @extend_schema(parameters=[EmbedQuerySerializer], responses={200: EmbedSerializer, **errors(400, 401, 404)})
    def get(self, request):
        topic = _topic_of_article(_query(EmbedQuerySerializer, request)["url"])
        summary, _ = topic_summary_json(topic=topic)
        answer = {
            "topic": TopicSerializer(topic).data,
            "summary": summary,
            "url": topic.source_url,
            "widget_url": widget_url(request, topic),
        }
        return Response(answer)


class OEmbedApi(EmbedRead):
    """oEmbed (https://oembed.com/) of an article's debate or of a widget page: a `rich` iframe."""

    content_negotiation_class = JsonAnswers

    @extend_schema(
        parameters=[OEmbedQuerySerializer],
        responses={
            200: OEmbedSerializer,
            **errors(400, 401, 404),
            501: OpenApiResponse(errors(404)[404].response, description="A format other than json (xml)."),
        },
    )
    def get(self, request):
        query = _query(OEmbedQuerySerializer, request)
        if query.get("format", "json") != "json":
            return Response({"detail": "Only format=json is provided."}, status=501)
        topic = self._topic(request, query["url"])
        width = min(OEMBED_WIDTH, query.get("maxwidth", OEMBED_WIDTH))
        height = min(OEMBED_HEIGHT, query.get("maxheight", OEMBED_HEIGHT))
        html = format_html(
            '<iframe src="{}" title="{}" width="{}" height="{}" loading="lazy" style="border:0;max-width:100%">'
            "</iframe>",
            widget_url(request, topic),
            f"Debate: {topic.question}",
            width,
            height,
        )
        answer = {
            "type": "rich",
            "version": "1.0",
            "title": topic.title,
            "provider_name": PROVIDER_NAME,
            "provider_url": request.build_absolute_uri("/"),
            "cache_age": 3600,
            "html": html,
            "width": width,
            "height": height,
        }
        return Response(answer)

    @staticmethod
    def _topic(request, url: str) -> Topic:
        """A widget page of this service names its topic; any other address is an article."""
        own = request.build_absolute_uri(WIDGET_PATH)
        if url.startswith(own):
            slug = url[len(own) :].split("/", 1)[0].split("?", 1)[0]
            return selectors.topic_get(slug=slug)
        return _topic_of_article(url)


class SvgRenderer(BaseRenderer):
    media_type = "image/svg+xml"
    format = "svg"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class BadgeApi(EmbedRead):
    """The topic's stance balance as a small SVG, conditional on its ETag."""

    content_negotiation_class = JsonAnswers

    renderer_classes = [SvgRenderer, JSONRenderer]

    @extend_schema(
        parameters=BADGE_CONDITIONAL_GET,
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="The badge (SVG text)."),
            (304, "image/svg+xml"): OpenApiResponse(description="Unchanged since that ETag."),
            **{(code, "application/json"): answer for code, answer in errors(401, 404).items()},
        },
    )
    def get(self, request, slug: str):
        topic = selectors.topic_for_summary(slug=slug)  # as the widget reads it: the summary needs no re-read
        summary, _ = topic_summary_json(topic=topic)
        body = badge_svg(summary, title=topic.question).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
        response = get_conditional_response(request, etag=etag) or HttpResponse(
            body, content_type="image/svg+xml; charset=utf-8"
        )
        response["ETag"] = etag
        # A badge sits in other sites' pages: caches may keep it a minute, then ask again with the ETag.
        response["Cache-Control"] = "public, max-age=60"
        return response
