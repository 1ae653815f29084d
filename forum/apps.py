from django.apps import AppConfig


class ForumConfig(AppConfig):
    """The base layer: accounts, rights, suspensions and the moderation log; it imports nothing of discussions."""

    name = "forum"
    verbose_name = "Forum: people and order"
