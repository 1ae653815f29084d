"""Client developers read the OpenAPI schema and the interactive docs; people browse the API."""

import pytest
from django.core.management import call_command

from tests.support.factories import PASSWORD


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (an unresolvable field, a missing
    # serializer) into a failure; --validate checks the result against the OpenAPI 3 spec.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    text = out.read_text()
    for path in (
        "/api/auth/register/",
        "/api/auth/token/",
        "/api/me/",
        "/api/topics/{slug}/summary/",
        "/api/threads/{id}/summary/",
        "/api/replies/{id}/vote/",
    ):
        assert path in text


@pytest.mark.django_db
def test_schema_and_docs_are_served(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/replies/" in schema.json()["paths"]

    docs = anon.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_a_logged_in_user_browses_the_api(client, author, thread):
    assert client.login(username=author.username, password=PASSWORD)

    page = client.get("/api/replies/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert author.username.encode() in page.content  # the logged-in user is shown, and their reply listed
    assert b"Opening post." in page.content or b"Testers worked free." in page.content


@pytest.mark.django_db
def test_session_authenticated_post_works_with_csrf(client, author, thread):
    client.login(username=author.username, password=PASSWORD)

    response = client.post(
        "/api/replies/",
        {"thread": thread.pk, "body": "From the browsable API.", "stance": "pro-tester"},
        content_type="application/json",
    )
    assert response.status_code == 201
