"""Client developers find every endpoint from the API root, as the browsable API shows it."""

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_the_api_root_names_every_path_of_the_schema(anon):
    root = anon.get("/api/", HTTP_ACCEPT="application/json")
    schema = yaml.safe_load(anon.get("/api/schema/").content)

    assert root.status_code == 200
    # A query template ({?q,…}, RFC 6570) adds parameters to its path, not another path.
    listed = {re.sub(r"^https?://[^/]+|\{\?[^}]*\}$", "", url) for url in root.json().values()}
    # The schema names parameters as it likes ({id}, {pk}, {slug}); only their places matter here.
    shape = {re.sub(r"\{[^}]+\}", "{}", path) for path in listed}
    missing = [path for path in schema["paths"] if re.sub(r"\{[^}]+\}", "{}", path) not in shape]
    assert missing == []


NOTIFICATIONS = {"notifications", "notifications/unread-count", "notifications/read"}


def test_the_api_root_links_work(anon):
    for name, url in anon.get("/api/", HTTP_ACCEPT="application/json").json().items():
        needs_token = {"auth/logout", "auth/password", "auth/tokens", "auth/stream-ticket", "me", "me/events"}
        if "{" in url or name in needs_token | NOTIFICATIONS | {"moderation/log"}:
            continue  # templates, and endpoints that need a token (their 401 is tested with them)
        if name in {"auth/register", "auth/token"}:
            assert anon.get(url).status_code == 405, name  # POST only
            continue
        assert anon.get(url).status_code == 200, name
