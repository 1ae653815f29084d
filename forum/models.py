from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The forum's account; its own model from the first migration so it can grow fields later."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
