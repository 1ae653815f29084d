"""The sites allowed to embed the debate (with EMBED_ALLOWED_ORIGINS from the settings)."""

from django.db import models
from django.utils import timezone


class EmbedOrigin(models.Model):
    """A site (scheme://host[:port]) allowed to frame the widget and read the embed API from a browser."""

    origin = models.CharField(
        max_length=300, unique=True, help_text="scheme://host[:port], no path: https://news.example"
    )
    note = models.CharField(max_length=200, blank=True, help_text="Whose site it is, for the next operator.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["origin"]

    def __str__(self):
        return self.origin
