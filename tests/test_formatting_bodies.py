"""Writing a formatted reply: Markdown rendered to sanitised HTML at each write, mentions linked, quotes
related; `body` kept exactly as written. The XSS corpus below must never come out executable."""

import io
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command

from discussions import formatting, services
from discussions.models import Reply, ReplyRevision
from tests.support.factories import UserFactory, make_reply, make_thread

REPLIES = "/api/replies/"


def post(client, thread, body, **extra):
    return client.post(REPLIES, {"thread": thread.pk, "body": body, "stance": "pro-tester"} | extra, format="json")


def html_of(source, users=(), quotable=None):
    known = {u.lower(): u for u in users}
    found = formatting.render(
        source,
        find_users=lambda names: {n: known[n] for n in names if n in known},
        find_replies=lambda ids: {i: "carol" for i in ids if quotable is None or i in quotable},
    )
    return found.html


# --- Rendering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Heading", "<h1>Heading</h1>"),
        ("### Smaller", "<h3>Smaller</h3>"),
        ("*soft* and **strong**", "<p><em>soft</em> and <strong>strong</strong></p>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("`x < y`", "<p><code>x &lt; y</code></p>"),
        ("```\n<b>raw</b>\n```", "<pre><code>&lt;b&gt;raw&lt;/b&gt;\n</code></pre>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        (
            "[the leak](https://example.org/a)",
            '<p><a href="https://example.org/a" rel="nofollow ugc noopener">the leak</a></p>',
        ),
        ("see https://example.org", '<p>see <a href="https://example.org" rel="nofollow ugc noopener">'),
        ("[write](mailto:a@example.org)", '<a href="mailto:a@example.org" rel="nofollow ugc noopener">write</a>'),
    ],
)
def test_markdown_renders_as_commonmark(source, expected):
    assert expected in html_of(source)


# Each must come out with nothing that runs: no tag or attribute outside the allow-list, no script URL.
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '![x](https://example.org/a.png" onerror="alert(1))',
    '[x](https://example.org "title" onmouseover="alert(1)")',
    "<iframe src=https://evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<style>body{display:none}</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "**<script>alert(1)</script>**",
    "> <img src=x onerror=alert(1)>",
    "- [x](javascript:alert(1))",
    "`<script>`<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</script>",
    "<a href='https://ok.example' onclick='alert(1)'>ok</a>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "[quote=1]\n<script>alert(1)</script>\n[/quote]",
    '<https://example.org/"onmouseover="alert(1)>',
    "<javascript:alert(1)>",
    "[x](  javascript:alert(1))",
    '<object data="javascript:alert(1)"></object>',
]


class Elements(HTMLParser):
    """Every element a browser would build from the HTML, with its attributes (text is not looked at)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("source", XSS)
def test_no_xss_payload_survives(source):
    html = html_of(source)

    for tag, attrs in Elements(html).found:
        assert tag in formatting.ALLOWED_TAGS, html
        allowed = formatting.ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel", "class"}
        assert set(attrs) <= allowed, html
        for name in ("href", "cite"):
            if name in attrs:
                assert attrs[name].startswith(("http://", "https://", "mailto:", "/api/")), html
    assert "<script" not in html.lower()


def test_every_link_is_nofollow_ugc_noopener():
    html = html_of("[a](https://a.example) http://b.example [c](mailto:c@example.org) @alice", users=["alice"])

    links = re.findall(r"<a [^>]*>", html)
    assert len(links) == 4
    assert all('rel="nofollow ugc noopener"' in link for link in links)


# --- Mentions -----------------------------------------------------------------------------------------


def test_a_mention_of_a_user_links_them_and_lists_them(as_author, thread, other, db):
    UserFactory(username="carol", is_active=False)

    response = post(as_author, thread, f"Thanks @{other.username.upper()}, but @nobody and @carol disagree.")

    body = response.json()
    assert response.status_code == 201, body
    assert body["mentions"] == [other.username]
    assert f'href="/api/users/{other.username}/"' in body["body_html"]
    assert "@nobody" in body["body_html"] and "/api/users/nobody/" not in body["body_html"]
    assert "/api/users/carol/" not in body["body_html"]  # inactive: stays text
    assert list(Reply.objects.get(pk=body["id"]).mentioned_users.all()) == [other]


def test_at_most_ten_mentions_count(as_author, thread, db):
    names = [UserFactory(username=f"reader{i}").username for i in range(12)]

    body = post(as_author, thread, " ".join(f"@{n}" for n in names)).json()

    assert body["mentions"] == names[:10]
    assert Reply.objects.get(pk=body["id"]).mentioned_users.count() == 10
    assert "/api/users/reader11/" not in body["body_html"]


def test_mentions_in_code_and_email_addresses_are_not_mentions(as_author, thread, other):
    body = post(as_author, thread, f"`@{other.username}` and mail x@{other.username}.example").json()

    assert body["mentions"] == []


# --- Quotes -------------------------------------------------------------------------------------------


def test_a_quote_renders_its_author_and_is_related(as_author, thread, reply, other):
    response = post(as_author, thread, f"[quote={reply.pk}]\nYou said *this*.\n[/quote]\n\nAnd I answer.")

    body = response.json()
    assert response.status_code == 201, body
    assert body["quotes"] == [reply.pk]
    assert '<blockquote class="quote"' in body["body_html"]
    assert f"{other.username} wrote:" in body["body_html"]
    assert "<em>this</em>" in body["body_html"]
    assert list(reply.quoted_by.values_list("pk", flat=True)) == [body["id"]]


@pytest.mark.parametrize("which", ["unknown", "hidden", "withdrawn", "foreign"])
def test_a_quote_of_a_reply_that_cannot_be_quoted_is_a_400_on_body(
    as_author, thread, reply, rival_topic, moderator, other, which
):
    target = {
        "unknown": lambda: 987654,
        "hidden": lambda: services.reply_hide(actor=moderator, reply_id=reply.pk, reason="x").pk,
        "withdrawn": lambda: services.reply_withdraw(actor=other, reply_id=reply.pk).pk,
        "foreign": lambda: make_thread(topic=rival_topic, author=other).opening_reply_id,
    }[which]()
    before = Reply.objects.count()

    response = post(as_author, thread, f"[quote={target}]\nx\n[/quote]")

    assert response.status_code == 400, response.content
    assert "body" in response.json()
    assert Reply.objects.count() == before


# --- Stored, never rendered on read -------------------------------------------------------------------


def test_body_is_kept_exactly_and_an_edit_renders_again_keeping_the_raw_revision(as_author, thread, author, other):
    raw = "**bold** <b>tag</b>\n\n    indented @" + other.username
    reply = make_reply(thread=thread, author=author, body=raw)
    assert Reply.objects.get(pk=reply.pk).body == raw  # Markdown, tags and indentation as written

    response = as_author.patch(f"{REPLIES}{reply.pk}/", {"body": "now *plain*"}, format="json")

    body = response.json()
    assert body["body"] == "now *plain*"
    assert body["body_html"] == "<p>now <em>plain</em></p>\n"
    assert body["mentions"] == []
    assert Reply.objects.get(pk=reply.pk).mentioned_users.count() == 0
    assert ReplyRevision.objects.get(reply=reply).body == raw  # the raw text, not its rendering


def test_a_thread_carries_its_opening_posts_rendering(as_author, topic):
    response = as_author.post(
        "/api/threads/",
        {"topic": topic.slug, "title": "T", "body": "# Opening\n\nwith *style*", "stance": "pro-tester"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["body_html"] == "<h1>Opening</h1>\n<p>with <em>style</em></p>\n"


def test_reading_a_page_renders_nothing(anon, thread, author, monkeypatch):
    make_reply(thread=thread, author=author, body="*stored*")
    monkeypatch.setattr(formatting, "render", lambda *a, **k: pytest.fail("rendered on a read"))

    response = anon.get(REPLIES, {"thread": thread.pk})

    assert "<em>stored</em>" in response.json()["results"][-1]["body_html"]


def test_rerender_replies_brings_old_renderings_up_to_date(thread, author, other):
    reply = make_reply(thread=thread, author=author, body=f"hello @{other.username}")
    Reply.objects.filter(pk=reply.pk).update(body_html="stale", mentions=[], render_version=0)
    reply.mentioned_users.clear()

    out = io.StringIO()
    call_command("rerender_replies", stdout=out)
    assert "Rendered 1 replies again" in out.getvalue()

    fresh = Reply.objects.get(pk=reply.pk)
    assert fresh.render_version == formatting.RENDER_VERSION
    assert fresh.mentions == [other.username] and "/api/users/" in fresh.body_html
    assert list(fresh.mentioned_users.all()) == [other]


@pytest.mark.parametrize("fence", ["```", "~~~~", "   ```text"])
def test_a_quote_line_in_a_code_block_is_code(as_author, thread, reply, fence):
    closing = fence.strip().removesuffix("text")
    body = f"{fence}\n[quote={reply.pk}]\nx\n[/quote]\n[quote=987654]\n{closing}\n\nafter"

    response = post(as_author, thread, body)

    assert response.status_code == 201, response.content
    assert response.json()["quotes"] == []
    assert "<blockquote" not in response.json()["body_html"]
    assert f"[quote={reply.pk}]" in response.json()["body_html"]  # shown as the code it is
    assert not reply.quoted_by.exists()


def test_a_quote_after_a_closed_code_block_still_quotes(as_author, thread, reply):
    body = f"```\ncode\n```\n[quote={reply.pk}]\nsaid\n[/quote]"

    assert post(as_author, thread, body).json()["quotes"] == [reply.pk]
