"""Client developers read the OpenAPI schema and the interactive docs; people browse the API."""

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.support.clients import log_in_through_the_page
from tests.support.factories import PASSWORD

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    """The schema as a client downloads it (it needs no database)."""
    from django.test import Client

    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


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


def test_openapi_spec_validator_accepts_the_schema(schema):
    validate(schema)  # raises on the first error, naming it


def test_request_bodies_are_json_only(schema):
    bodies = {name: list(op["requestBody"]["content"]) for name, op in operations(schema) if "requestBody" in op}

    assert "POST /api/auth/register/" in bodies and "PUT /api/topics/{slug}/position/" in bodies
    assert {name: types for name, types in bodies.items() if types != ["application/json"]} == {}


def test_public_reads_need_no_credentials_and_the_callers_own_do(schema):
    security = {name: op.get("security") for name, op in operations(schema)}

    for public in (
        "GET /api/topics/",
        "GET /api/topics/{slug}/",
        "GET /api/topics/{slug}/summary/",
        "GET /api/threads/{id}/",
        "GET /api/replies/",
        "GET /api/users/{username}/",
        "POST /api/auth/register/",
        "POST /api/auth/token/",
    ):
        assert security[public] is None, public
    for own in ("GET /api/me/", "GET /api/topics/{slug}/position/", "POST /api/replies/", "GET /api/auth/tokens/"):
        assert {"tokenAuth": []} in security[own] and {} not in security[own], own
    assert [name for name, requirements in security.items() if requirements and {} in requirements] == []


def test_ids_are_integers_in_paths_and_filters(schema):
    for name, op in operations(schema):
        for parameter in op.get("parameters", []):
            if parameter["name"] in ("id", "thread", "parent", "target_id"):
                assert parameter["schema"]["type"] == "integer", (name, parameter)
    replies = dict(operations(schema))["GET /api/replies/"]
    assert {p["name"] for p in replies["parameters"] if p["schema"]["type"] == "integer"} >= {"thread", "parent"}


def test_every_enum_member_has_a_name(schema):
    enums = [
        *(p["schema"] for _, op in operations(schema) for p in op.get("parameters", []) if "enum" in p["schema"]),
        *(component for component in schema["components"]["schemas"].values() if "enum" in component),
    ]

    assert len(enums) >= 5
    for enum in enums:
        named = enum.get("x-enum-varnames") or [v for v in enum["enum"] if isinstance(v, str) and v[:1].isalpha()]
        assert len(named) == len(enum["enum"]), enum


def test_every_error_is_documented_with_its_shape_and_headers(schema):
    for name, op in operations(schema):
        responses = op["responses"]
        assert "503" in responses, name
        for code, response in responses.items():
            if code >= "400" and name != "GET /api/health/":  # its 503 says which check failed
                body = resolve(schema, response["content"]["application/json"]["schema"])
                expected = "ValidationError" if code == "400" else "ErrorDetail"
                assert body == schema["components"]["schemas"][expected], (name, code)
            if code in ("429", "503"):
                assert response["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (name, code)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(responses), name
        if op.get("security"):
            assert "401" in responses, name
    ops = dict(operations(schema))
    for throttled in ("POST /api/auth/register/", "POST /api/replies/", "POST /api/replies/{id}/vote/"):
        assert "429" in ops[throttled]["responses"], throttled


@pytest.mark.parametrize("path", ["/api/topics/{slug}/summary/", "/api/threads/{id}/summary/"])
def test_the_conditional_get_of_a_summary_is_declared(schema, path):
    op = schema["paths"][path]["get"]

    headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
    assert headers == {"If-None-Match", "If-Modified-Since"}
    for code in ("200", "304"):
        assert {"ETag", "Last-Modified", "Cache-Control"} <= set(op["responses"][code]["headers"]), code
    assert "content" not in op["responses"]["304"]


def test_what_is_always_in_an_answer_is_required(schema):
    components = schema["components"]["schemas"]

    assert {"is_locked", "description", "stances"} <= set(components["Topic"]["required"])
    assert set(components["PaginatedReplyList"]["required"]) == {"count", "next", "previous", "results"}
    assert components["Me"]["properties"]["email"].get("format") is None  # "" when none was given
    assert "default" not in components["RegisterInputRequest"]["properties"]["email"]
    assert components["ReplyCreateInputRequest"]["properties"]["parent"]["nullable"] is True
    assert components["Flag"]["properties"]["reason"] == {"$ref": "#/components/schemas/FlagReasonEnum"}


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
    log_in_through_the_page(client, author.username, PASSWORD)

    page = client.get("/api/replies/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert author.username.encode() in page.content  # the logged-in user is shown, and their reply listed
    assert b"Opening post." in page.content or b"Testers worked free." in page.content


@pytest.mark.django_db
def test_session_authenticated_post_works_with_csrf(client, author, thread):
    log_in_through_the_page(client, author.username, PASSWORD)

    response = client.post(
        "/api/replies/",
        {"thread": thread.pk, "body": "From the browsable API.", "stance": "pro-tester"},
        content_type="application/json",
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_the_browsable_api_still_posts_its_html_form(client, author, thread):
    # The form parsers are kept for the browsable API's forms (a signed-in browser), unpublished.
    log_in_through_the_page(client, author.username, PASSWORD)

    response = client.post(
        "/api/replies/", {"thread": thread.pk, "body": "From the HTML form.", "stance": "pro-tester"}
    )
    assert response.status_code == 201
