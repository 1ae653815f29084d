"""The stance balance as an inline SVG, drawn on the server: no script, no external asset."""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# By stance position, so a side keeps its colour on every topic page.
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DAYS = 30

WIDTH = 640
LEFT = 150  # room for the stance slug before the bars
BAR_WIDTH = WIDTH - LEFT - 20
BAR_HEIGHT = 10
ROW_HEIGHT = 52
CHART_HEIGHT = 140


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


_BAR = (
    '<g class="stance-bar" data-stance="{slug}">'
    '<text x="0" y="{text_y}" font-weight="bold">{slug}</text>'
    '<text class="stance-numbers" x="{left}" y="{text_y}" data-stance="{slug}" data-replies="{replies}" '
    'data-reply-share="{reply_share}" data-upvotes="{upvotes}" data-vote-share="{vote_share}" '
    'data-participants="{participants}">{caption}</text>'
    '<rect class="reply-share" x="{left}" y="{bar_y}" width="{reply_width}" height="{height}" fill="{fill}">'
    "<title>share of replies</title></rect>"
    '<rect class="vote-share" x="{left}" y="{vote_y}" width="{vote_width}" height="{height}" fill="{fill}" '
    'fill-opacity="0.45"><title>share of upvotes</title></rect></g>'
)


def _bars(stances: list[dict]) -> tuple[SafeString, int]:
    groups = []
    for index, row in enumerate(stances):
        top = 20 + index * ROW_HEIGHT
        caption = (
            f"{row['replies']} replies ({_pct(row['reply_share'])}) · "
            f"{row['upvotes']} upvotes ({_pct(row['vote_share'])}) · {row['participants']} participants"
        )
        groups.append(
            format_html(
                _BAR,
                slug=row["stance"],
                text_y=top + 12,
                left=LEFT,
                replies=row["replies"],
                reply_share=f"{row['reply_share']:.4f}",
                upvotes=row["upvotes"],
                vote_share=f"{row['vote_share']:.4f}",
                participants=row["participants"],
                caption=caption,
                bar_y=top + 18,
                vote_y=top + 20 + BAR_HEIGHT,
                reply_width=f"{row['reply_share'] * BAR_WIDTH:.1f}",
                vote_width=f"{row['vote_share'] * BAR_WIDTH:.1f}",
                height=BAR_HEIGHT,
                fill=colour(index),
            )
        )
    return format_html_join("\n", "{}", ((group,) for group in groups)), 20 + len(stances) * ROW_HEIGHT


def daily_shares(stances: list[dict], daily_rows: Iterable[tuple]) -> list[tuple[datetime.date, dict]]:
    """Each day's share of new replies per stance, over the last DAYS days on which any reply was counted."""
    by_day: dict = defaultdict(lambda: defaultdict(int))
    for day, slug, replies in daily_rows:
        by_day[day][slug] += replies
    days = sorted(day for day, cells in by_day.items() if sum(cells.values()) > 0)[-DAYS:]
    slugs = [row["stance"] for row in stances]
    shares = []
    for day in days:
        total = sum(by_day[day].values())
        shares.append((day, {slug: by_day[day].get(slug, 0) / total for slug in slugs}))
    return shares


_FRAME = (
    '<text x="0" y="{title_y}" font-weight="bold">Daily reply share</text>'
    '<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#999"/>'
    '<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999"/>'
    '<text x="{tick_x}" y="{top_tick_y}" text-anchor="end">100%</text>'
    '<text x="{tick_x}" y="{bottom}" text-anchor="end">0%</text>'
    '<text x="{left}" y="{date_y}">{first}</text>'
    '<text x="{right}" y="{date_y}" text-anchor="end">{last}</text>'
)


def _line_chart(stances: list[dict], shares: list[tuple], top: int) -> tuple[SafeString, int]:
    if not shares:
        return format_html('<text x="0" y="{}">No daily replies yet.</text>', top + 16), top + 30
    plot_top, bottom = top + 24, top + 24 + CHART_HEIGHT
    step = BAR_WIDTH / (len(shares) - 1) if len(shares) > 1 else 0

    def xy(i: int, share: float) -> tuple[str, str]:
        x = LEFT + (i * step if len(shares) > 1 else BAR_WIDTH / 2)
        return f"{x:.1f}", f"{plot_top + (1 - min(max(share, 0.0), 1.0)) * CHART_HEIGHT:.1f}"

    lines = []
    for index, row in enumerate(stances):
        slug = row["stance"]
        points = [(day, day_shares[slug], *xy(i, day_shares[slug])) for i, (day, day_shares) in enumerate(shares)]
        # A single day draws no line; a dot per day keeps every day visible (and says its value on hover).
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{} {}: {}</title></circle>',
            ((x, y, colour(index), day.isoformat(), slug, _pct(share)) for day, share, x, y in points),
        )
        lines.append(
            format_html(
                '<g class="daily-share" data-stance="{}"><polyline points="{}" fill="none" stroke="{}" '
                'stroke-width="2"/>{}</g>',
                slug,
                " ".join(f"{x},{y}" for _, _, x, y in points),
                colour(index),
                dots,
            )
        )
    frame = format_html(
        _FRAME,
        title_y=top + 14,
        left=LEFT,
        right=LEFT + BAR_WIDTH,
        top=plot_top,
        bottom=bottom,
        tick_x=LEFT - 4,
        top_tick_y=plot_top + 4,
        date_y=bottom + 16,
        first=shares[0][0].isoformat(),
        last=shares[-1][0].isoformat(),
    )
    return format_html("{}{}", frame, format_html_join("\n", "{}", ((line,) for line in lines))), bottom + 24


def stance_balance_svg(summary: dict, daily_rows: Iterable[tuple]) -> SafeString:
    """Share bars per stance from a topic summary, then daily reply shares from (day, stance slug, replies) rows."""
    stances = summary["stances"]
    bars, height = _bars(stances)
    chart, height = _line_chart(stances, daily_shares(stances, daily_rows), height + 10)
    return format_html(
        '<svg id="stance-balance" xmlns="http://www.w3.org/2000/svg" role="img" width="{}" height="{}" '
        'viewBox="0 0 {} {}" font-family="sans-serif" font-size="12" data-topic="{}" data-replies="{}" '
        'data-votes="{}"><title>Stance balance of {}</title>{}{}</svg>',
        WIDTH,
        height,
        WIDTH,
        height,
        summary["topic"],
        summary["replies"],
        summary["votes"],
        summary["topic"],
        bars,
        chart,
    )
