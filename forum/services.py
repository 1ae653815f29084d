"""Writes about people: registration and API tokens."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def user_register(*, username: str, password: str, email: str = ""):
    """Create an account after Django's password validators have passed."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["A user with that username already exists."]})
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:  # two registrations racing for one name
        raise ValidationError({"username": ["A user with that username already exists."]}) from None
    return candidate


def token_obtain(*, username: str, password: str) -> Token:
    """Exchange credentials for the user's API token (created on first use)."""
    user = authenticate(username=username, password=password)
    if user is None:
        raise ValidationError({"non_field_errors": ["Unable to log in with the given username and password."]})
    token, _ = Token.objects.get_or_create(user=user)
    return token
