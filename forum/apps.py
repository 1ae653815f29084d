from django.apps import AppConfig


class ForumConfig(AppConfig):
    name = "forum"
    verbose_name = "Forum: people and order"

    def ready(self):
        from discussions.services import moderation_recorder_register
        from forum.services import moderation_record

        # A moderator editing or withdrawing someone else's reply through the API lands in the log.
        moderation_recorder_register(moderation_record)
