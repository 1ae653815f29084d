"""A reply's Markdown turned into the HTML readers get: rendered by markdown-it-py, then sanitised by nh3.

The body is CommonMark with raw HTML off and bare links linked; `@username` of an existing user becomes a
link, and a `[quote=ID]` … `[/quote]` block a blockquote naming the quoted reply's author. Rendering runs
on every write and is stored (RENDER_VERSION marks which renderer made it), never on a read.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import nh3
from django.utils.html import escape
from markdown_it import MarkdownIt
from markdown_it.token import Token

from forum.errors import Invalid

# Bump when the output for the same body changes; `manage.py rerender_replies` brings older rows up to it.
RENDER_VERSION = 1
MAX_MENTIONS = 10
MAX_QUOTE_DEPTH = 3

ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "blockquote": {"cite"}}
ALLOWED_CLASSES = {"a": {"mention"}, "blockquote": {"quote"}, "p": {"quote-author"}}
LINK_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

# Django's usernames: letters, digits and @.+-_. A mention may not end in a full stop (the end of a sentence).
_MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*[\w+-])")
_QUOTE_OPEN = re.compile(r"^[ \t]*\[quote=([0-9]{1,18})\][ \t]*$", re.IGNORECASE)
_QUOTE_CLOSE = re.compile(r"^[ \t]*\[/quote\][ \t]*$", re.IGNORECASE)
# A CommonMark code fence: up to three spaces, then three or more backticks or tildes (and an info string).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*(\S.*)?$")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["linkify", "strikethrough"]
)


@dataclass
class Rendered:
    html: str
    mentions: list[str] = field(default_factory=list)  # usernames as stored, first mention first
    quotes: list[int] = field(default_factory=list)  # reply ids, first quote first


# Given lower-cased names, the matching users' usernames by lower-cased name (existing, active users only).
FindUsers = Callable[[set[str]], dict[str, str]]
# Given reply ids, the quotable ones (visible, in this topic) mapped to their author's username.
FindReplies = Callable[[set[int]], dict[int, str]]


def render(source: str, *, find_users: FindUsers, find_replies: FindReplies, strict: bool = True) -> Rendered:
    """The sanitised HTML of a Markdown body, with the users it mentions and the replies it quotes.

    A quote of a reply `find_replies` does not know is Invalid on `body`; with strict False (re-rendering
    stored bodies) it stays as the text it was."""
    tree = _split_quotes(source.splitlines(keepends=True))
    quoted = set(_quote_ids(tree))
    found = find_replies(quoted) if quoted else {}
    if missing := sorted(quoted - set(found)):
        if strict:
            raise Invalid.on(
                "body", f"Reply {missing[0]} cannot be quoted here: quote a visible reply of this topic by its id."
            )
        tree = _split_quotes(source.splitlines(keepends=True), quotable=set(found))
    names = {name.lower() for name in _MENTION.findall(source)}
    users = find_users(names) if names else {}
    mentions: list[str] = []
    html = _render_tree(tree, found, users, mentions)
    return Rendered(html=sanitise(html), mentions=mentions, quotes=list(dict.fromkeys(_quote_ids(tree))))


def sanitise(html: str) -> str:
    """Only the allow-listed tags, attributes, classes and link schemes survive; every link gets LINK_REL."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=LINK_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_only_absolute_links,
    )


def _only_absolute_links(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks schemes but lets relative URLs through; here a link is http(s), mailto, or one this renderer
    # made itself (a mention or a quoted reply, under /api/), so "java%09script:x" and friends go.
    if attribute in ("href", "cite") and not value.startswith(("http://", "https://", "mailto:", "/api/")):
        return None
    return value


# --- Quotes: a block structure around Markdown, parsed by lines ---------------------------------------


@dataclass
class _Quote:
    reply_id: int
    parts: list  # str (Markdown lines) and _Quote, in order


def _split_quotes(lines: list[str], depth: int = 0, quotable: set[int] | None = None) -> list:
    """Markdown text and the [quote=ID] blocks in it; an unclosed, too-deep or (given `quotable`) unknown
    block stays plain text."""
    parts: list = []
    text: list[str] = []
    fenced = _in_fences(lines)
    i = 0
    while i < len(lines):
        opened = not fenced[i] and _QUOTE_OPEN.match(lines[i])
        known = opened and (quotable is None or int(opened.group(1)) in quotable)
        end = _closing_line(lines, i + 1, fenced) if known and depth < MAX_QUOTE_DEPTH else None
        if end is None:
            text.append(lines[i])
            i += 1
            continue
        if text:
            parts.append("".join(text))
            text = []
        parts.append(_Quote(int(opened.group(1)), _split_quotes(lines[i + 1 : end], depth + 1, quotable)))
        i = end + 1
    if text:
        parts.append("".join(text))
    return parts


def _in_fences(lines: list[str]) -> list[bool]:
    """Which lines belong to a fenced code block (``` or ~~~, fence lines included): quotes there are code."""
    marks, fence = [], None
    for line in lines:
        found = _FENCE.match(line)
        if fence is None and found:
            fence = found.group(1)
            marks.append(True)
        elif fence is not None:
            marks.append(True)
            if found and found.group(1)[0] == fence[0] and len(found.group(1)) >= len(fence) and not found.group(2):
                fence = None
        else:
            marks.append(False)
    return marks


def _closing_line(lines: list[str], start: int, fenced: list[bool]) -> int | None:
    """The index of the [/quote] that closes a block opened just before `start`, counting nested blocks."""
    depth = 0
    for i in range(start, len(lines)):
        if fenced[i]:
            continue
        if _QUOTE_OPEN.match(lines[i]):
            depth += 1
        elif _QUOTE_CLOSE.match(lines[i]):
            if depth == 0:
                return i
            depth -= 1
    return None


def _quote_ids(parts: list):
    for part in parts:
        if isinstance(part, _Quote):
            yield part.reply_id
            yield from _quote_ids(part.parts)


def _render_tree(parts: list, quoted: dict[int, str], users: dict[str, str], mentions: list[str]) -> str:
    out = []
    for part in parts:
        if isinstance(part, _Quote):
            author = escape(quoted[part.reply_id])
            inner = _render_tree(part.parts, quoted, users, mentions)
            out.append(
                f'<blockquote class="quote" cite="/api/replies/{part.reply_id}/">'
                f'<p class="quote-author">{author} wrote:</p>\n{inner}</blockquote>\n'
            )
        else:
            out.append(_render_markdown(part, users, mentions))
    return "".join(out)


# --- Markdown and mentions ----------------------------------------------------------------------------


def _render_markdown(text: str, users: dict[str, str], mentions: list[str]) -> str:
    tokens = _markdown.parse(text)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _link_mentions(token.children, users, mentions)
    return _markdown.renderer.render(tokens, _markdown.options, {})


def _link_mentions(children: list[Token], users: dict[str, str], mentions: list[str]) -> list[Token]:
    """Text tokens outside links and code gain a link per known user mentioned (the first MAX_MENTIONS)."""
    out, in_link = [], 0
    for token in children:
        if token.type == "link_open":
            in_link += 1
        elif token.type == "link_close":
            in_link -= 1
        if token.type != "text" or in_link:
            out.append(token)
            continue
        out.extend(_split_text(token.content, users, mentions))
    return out


def _split_text(content: str, users: dict[str, str], mentions: list[str]) -> list[Token]:
    tokens, start = [], 0
    for match in _MENTION.finditer(content):
        username = users.get(match.group(1).lower())
        if username is None or (username not in mentions and len(mentions) >= MAX_MENTIONS):
            continue
        if username not in mentions:
            mentions.append(username)
        tokens.append(_text(content[start : match.start()]))
        link = Token("link_open", "a", 1, attrs={"href": f"/api/users/{username}/", "class": "mention"})
        tokens += [link, _text("@" + username), Token("link_close", "a", -1)]
        start = match.end()
    tokens.append(_text(content[start:]))
    return [t for t in tokens if t.type != "text" or t.content]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token
