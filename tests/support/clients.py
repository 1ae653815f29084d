"""API clients signed in as a given user."""

from django.utils import timezone
from rest_framework.test import APIClient

from forum.models import ApiToken


def client_for(user) -> APIClient:
    """An API client sending a fresh token of the user's, as a client that just logged in would."""
    _, key = ApiToken.objects.create(user=user, last_used_at=timezone.now())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.token_key = key
    return client


def log_in_through_the_page(client, username: str, password: str) -> None:
    """Sign a browser client in as a person does: the browsable API's login form (failed logins are counted)."""
    response = client.post("/api-auth/login/", {"username": username, "password": password, "next": "/api/"})
    assert response.status_code == 302, response.content[:300]
