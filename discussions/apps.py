from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    """The debate, built on forum: topics, stances, threads, replies, votes, positions and flags."""

    name = "discussions"
    verbose_name = "Discussions: the debate"
