"""The widget page an article frames (/embed/topics/{slug}/, /embed/?url=) and its two scripts (/embed.js).

Server-rendered and complete without JavaScript; widget.js only redraws the balance from the live stream and
tells the article its height. Framing is allowed to the embed origins only (discussions/embedding.py).
"""

import hashlib
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from discussions import selectors
from discussions.admin.charts import colour
from discussions.embedding import allow_framing, source_key
from discussions.summary_cache import topic_summary_json
from forum.errors import Invalid

ASSETS = Path(__file__).resolve().parent / "embed_assets"
REPLIES_PER_STANCE = 3  # of the summary's five best: the widget stays short under an article


def _join_url(request, slug: str) -> str:
    url = settings.EMBED_JOIN_URL.replace("{slug}", slug)
    return request.build_absolute_uri(url) if url.startswith("/") else url


def _render_widget(request, topic):
    summary, _ = topic_summary_json(topic=topic)
    stances = [
        {
            **row,
            "colour": colour(index),
            "reply_pct": round(row["reply_share"] * 100),
            "vote_pct": round(row["vote_share"] * 100),
            "best": summary["top_replies"].get(row["stance"], [])[:REPLIES_PER_STANCE],
        }
        for index, row in enumerate(summary["stances"])
    ]
    page = request.build_absolute_uri(reverse("embed-widget", kwargs={"slug": topic.slug}))
    context = {
        "topic": topic,
        "summary": summary,
        "stances": stances,
        "balance_label": "; ".join(f"{s['label']}: {s['reply_pct']}% of replies" for s in stances),
        "join_url": _join_url(request, topic.slug),
        "oembed_url": f"{reverse('oembed')}?{urlencode({'url': page})}",
        "events_url": reverse("topic-detail", kwargs={"slug": topic.slug}) + "events/",
    }
    response = render(request, "discussions/embed/widget.html", context)
    # Drawn from the summary, which changes with every vote: a browser asks again each time.
    response["Cache-Control"] = "no-cache"
    return allow_framing(response)


@require_safe
def widget(request, slug: str):
    """The widget of one topic."""
    # The topic as the summary reads it (with its stances' tallies): one statement, not two before the summary's.
    return _render_widget(request, selectors.topic_for_summary(slug=slug))


@require_safe
def widget_for_article(request):
    """The widget of the topic under ?url= (embed.js sends the article's address); 400 or 404 otherwise."""
    try:
        key = source_key(request.GET.get("url", ""))
    except Invalid as exc:
        return allow_framing(HttpResponse(f"url: {exc.errors['url'][0]}", status=400, content_type="text/plain"))
    return _render_widget(request, selectors.topic_for_summary(source_key=key))  # 404 when no debate sits there


@cache
def _asset(name: str) -> tuple[bytes, str]:
    body = (ASSETS / name).read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _script(request, name: str):
    body, etag = _asset(name)
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        body, content_type="text/javascript; charset=utf-8"
    )
    response["ETag"] = etag
    # Unversioned addresses that articles hard-code: a day in caches, then confirmed by the ETag.
    response["Cache-Control"] = "public, max-age=86400"
    # Any page may load the loader; the script reads nothing of the page's origin back to this service.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def embed_js(request):
    """The loader articles include: turns each <div data-stance-debate> into the widget's iframe."""
    return _script(request, "embed.js")


@require_safe
def widget_js(request):
    """The widget page's own script: live balance and height."""
    return _script(request, "widget.js")
