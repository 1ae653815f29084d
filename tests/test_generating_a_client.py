"""A client developer generates a Python client from /api/schema/ and uses it as generated, unedited.

openapi-python-client (pinned in requirements-dev.txt) is run as its CLI against the schema a live server
answers, with warnings as failures; every operation module must import, and one debate is walked through
the client alone: register, log in, start a thread, reply (parent null), vote, read the summary (and a 304
with its ETag), declare a position, flag. Each answer is parsed by the generated models, and an answer
the schema does not document raises (`raise_on_unexpected_status`).
"""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import override_settings

from tests.support.factories import PASSWORD as FACTORY_PASSWORD

pytestmark = [pytest.mark.timeout(120), pytest.mark.django_db(transaction=True)]

PACKAGE = "forum_client"
PASSWORD = "a-long-Passphrase-7"


def _generator() -> str | None:
    return shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "openapi-python-client"
    )


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory):
    """The generated package (once for the module), importable as `forum_client` while its tests run."""
    generator = _generator()
    if generator is None:
        pytest.skip("openapi-python-client is not installed (make install-dev installs requirements-dev.txt)")
    tmp_path = tmp_path_factory.mktemp("generated-client")
    schema = tmp_path / "schema.yaml"
    # Module-scoped, so outside the per-test setting pytest-django gives the live server's host.
    with override_settings(ALLOWED_HOSTS=[urlsplit(live_server.url).hostname]):
        schema.write_bytes(httpx.get(f"{live_server.url}/api/schema/", timeout=30).raise_for_status().content)
    # No post hooks: they only reformat the code (ruff), which is not what is under test. The badge is an image
    # (image/svg+xml), a type the generator reads only when told to treat it as bytes, as docs/api.md says.
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\ncontent_type_overrides:\n  image/svg+xml: application/octet-stream\n")
    result = subprocess.run(
        [generator, "generate", "--path", str(schema), "--output-path", str(tmp_path / PACKAGE)]
        + ["--meta", "none", "--config", str(config), "--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _operations(package) -> dict[str, object]:
    root = Path(package.__file__).parent
    modules = {}
    for path in sorted((root / "api").rglob("*.py")):
        if path.name != "__init__.py":
            name = ".".join((PACKAGE, *path.relative_to(root).with_suffix("").parts))
            modules[path.stem] = importlib.import_module(name)
    return modules


def test_every_generated_operation_imports(generated):
    operations = _operations(generated)

    assert len(operations) >= 27
    for name, module in operations.items():
        assert callable(module.sync_detailed), name


def test_a_debate_walked_through_the_generated_client_alone(generated, live_server, topic, other):
    ops = _operations(generated)
    models = importlib.import_module(f"{PACKAGE}.models")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    anonymous = client_module.Client(base_url=live_server.url, raise_on_unexpected_status=True)

    registered = ops["auth_register_create"].sync_detailed(
        client=anonymous, body=models.RegisterInputRequest(username="maya", password=PASSWORD)
    )
    assert registered.status_code == 201
    assert registered.parsed.username == "maya"

    taken = ops["auth_register_create"].sync_detailed(
        client=anonymous, body=models.RegisterInputRequest(username="maya", password=PASSWORD)
    )
    assert taken.status_code == 400
    assert isinstance(taken.parsed, models.ValidationError)
    assert taken.parsed.additional_properties["username"]

    login = ops["auth_token_create"].sync(
        client=anonymous, body=models.TokenInputRequest(username="maya", password=PASSWORD)
    )
    maya = client_module.AuthenticatedClient(
        base_url=live_server.url, token=login.token, prefix="Token", raise_on_unexpected_status=True
    )
    me = ops["me_retrieve"].sync(client=maya)
    assert (me.username, me.email, me.is_moderator) == ("maya", "", False)

    thread = ops["threads_create"].sync(
        client=maya,
        body=models.ThreadCreateInputRequest(
            topic="sora-leak", title="Who broke faith?", body="The testers were unpaid.", stance="pro-tester"
        ),
    )
    assert isinstance(thread, models.Thread)
    assert (thread.topic, thread.stance, thread.author) == ("sora-leak", "pro-tester", "maya")

    answer = models.ReplyCreateInputRequest(
        thread=thread.id, body="Early access was the pay.", stance="pro-openai", parent=None
    )
    assert answer.to_dict()["parent"] is None  # sent as JSON null, not left out
    reply = ops["replies_create"].sync(client=maya, body=answer)
    assert isinstance(reply, models.Reply)
    assert (reply.thread, reply.parent, reply.stance) == (thread.id, None, "pro-openai")
    listed = ops["replies_list"].sync(client=anonymous, thread=thread.id, ordering=models.RepliesListOrdering.BEST)
    assert reply.id in [r.id for r in listed.results]

    vote = ops["replies_vote_create"].sync(
        reply.id, client=maya, body=models.VoteInputRequest(value=models.VoteValueEnum.UP)
    )
    assert (vote.reply, vote.value, vote.upvotes, vote.score) == (reply.id, 1, 1, 1)

    summary = ops["topics_summary_retrieve"].sync_detailed("sora-leak", client=anonymous)
    assert summary.status_code == 200
    assert isinstance(summary.parsed, models.Summary)
    assert summary.parsed.replies == 2 and summary.parsed.votes == 1
    assert [s.stance for s in summary.parsed.stances] == ["pro-tester", "pro-openai"]
    etag = summary.headers["ETag"]
    unchanged = ops["topics_summary_retrieve"].sync_detailed("sora-leak", client=anonymous, if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag

    declared = ops["topics_position_update"].sync(
        "sora-leak", client=maya, body=models.PositionInputRequest(stance="pro-openai", persuaded_by=reply.id)
    )
    assert (declared.stance, declared.previous) == ("pro-openai", None)
    position = ops["topics_position_retrieve"].sync("sora-leak", client=maya)
    assert [(entry.stance, entry.persuaded_by) for entry in position.history] == [("pro-openai", reply.id)]
    nobody = ops["topics_position_retrieve"].sync_detailed("sora-leak", client=anonymous)
    assert nobody.status_code == 401

    bob = client_module.AuthenticatedClient(
        base_url=live_server.url,
        token=ops["auth_token_create"]
        .sync(client=anonymous, body=models.TokenInputRequest(username=other.username, password=FACTORY_PASSWORD))
        .token,
        prefix="Token",
        raise_on_unexpected_status=True,
    )
    flag = ops["replies_flag_create"].sync(
        reply.id, client=bob, body=models.FlagInputRequest(reason=models.FlagReasonEnum.OFF_TOPIC)
    )
    assert isinstance(flag, models.Flag)
    assert (flag.reply, flag.reason, flag.state) == (
        reply.id,
        models.FlagReasonEnum.OFF_TOPIC,
        models.FlagStateEnum.OPEN,
    )
