"""Every page a browser renders carries the Content-Security-Policy, and it is the strict one."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/topics/", "/api-auth/login/"])
def test_html_pages_carry_a_policy_without_inline_scripts(client, path):
    response = client.get(path, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert b"<script>" not in response.content  # no inline script a nonce would have to allow
