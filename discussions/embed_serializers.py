"""The JSON of the embed endpoints (discussions/embed_apis.py): the topic by article, and oEmbed."""

from rest_framework import serializers

from discussions.serializers import SummarySerializer, TopicSerializer


class EmbedQuerySerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="The article's address, as the reader's browser has it.")


class EmbedSerializer(serializers.Serializer):
    topic = TopicSerializer()
    summary = SummarySerializer()
    url = serializers.CharField(help_text="The article's address as the topic records it.")
    widget_url = serializers.URLField(help_text="The widget page to put in an iframe.")


class OEmbedQuerySerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="An article's address, or a widget page's.")
    maxwidth = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    maxheight = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    format = serializers.CharField(
        required=False, max_length=20, help_text="`json` (the default); anything else, `xml` among it, is a 501."
    )


class OEmbedSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="Always `rich`.")
    version = serializers.CharField(help_text="Always `1.0`.")
    title = serializers.CharField()
    provider_name = serializers.CharField()
    provider_url = serializers.URLField()
    cache_age = serializers.IntegerField()
    html = serializers.CharField(help_text="The iframe to insert.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
