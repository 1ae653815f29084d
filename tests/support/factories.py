"""factory_boy factories; content goes through the services so counters stay true."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from discussions import services
from discussions.models import Topic

PASSWORD = "Correct-Horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class ModeratorFactory(UserFactory):
    """A moderator the way operators make one: staff (for the admin), in the Moderators group (for the rights)."""

    username = factory.Sequence(lambda n: f"moderator{n}")
    is_staff = True

    @factory.post_generation
    def moderators_group(user, create, extracted, **kwargs):
        # Forum's migration 0003 makes the group; a transactional test's flush empties it, so it is made again.
        group, _ = Group.objects.get_or_create(name="Moderators")
        group.permissions.add(Permission.objects.get(codename="moderate_reply"))
        user.groups.add(group)


class TopicFactory(factory.django.DjangoModelFactory):
    """A topic with the seeded debate's stance slugs, so slug clashes across topics are always in play."""

    class Meta:
        model = Topic

    slug = factory.Sequence(lambda n: f"topic-{n}")
    title = factory.LazyAttribute(lambda t: f"Debate {t.slug}")
    question = "Who is right?"
    stances = (("pro-tester", "The testers had a point"), ("pro-openai", "OpenAI's programme was fair"))

    @classmethod
    def _create(cls, model_class, slug, title, question, stances, **kwargs):
        return services.topic_create(
            actor=None,
            slug=slug,
            title=title,
            question=question,
            stances=[{"slug": s, "label": label} for s, label in stances],
        )


def make_thread(*, topic, author, stance="pro-tester", title="A thread", body="Opening post."):
    return services.thread_create(actor=author, topic_slug=topic.slug, title=title, body=body, stance_slug=stance)


def make_reply(*, thread, author, stance="pro-openai", body="A reply.", parent=None):
    return services.reply_create(
        actor=author, thread_id=thread.pk, body=body, stance_slug=stance, parent_id=parent.pk if parent else None
    )


class TopicManagerFactory(UserFactory):
    """A topic manager the way operators make one: in the "Topic managers" group, not staff."""

    username = factory.Sequence(lambda n: f"manager{n}")

    @factory.post_generation
    def topic_managers_group(user, create, extracted, **kwargs):
        # Made by discussions' migration 0007; made again after a transactional test's flush.
        group, _ = Group.objects.get_or_create(name="Topic managers")
        group.permissions.add(Permission.objects.get(codename="manage_topic"))
        user.groups.add(group)
