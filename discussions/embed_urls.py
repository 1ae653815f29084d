"""The pages an article embeds, outside /api/: the widget, the loader and the widget's script."""

from django.urls import path, re_path

from discussions import widget

urlpatterns = [
    path("embed.js", widget.embed_js, name="embed-js"),
    path("embed/widget.js", widget.widget_js, name="embed-widget-js"),
    path("embed/", widget.widget_for_article, name="embed-widget-for-article"),
    re_path(r"^embed/topics/(?P<slug>[-a-zA-Z0-9_]+)/$", widget.widget, name="embed-widget"),
]
