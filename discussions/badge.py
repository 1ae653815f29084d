"""The stance balance as a small stand-alone SVG badge: one bar of reply shares, a legend line per stance."""

from django.utils.html import format_html, format_html_join

from discussions.admin.charts import colour

WIDTH = 400
BAR_TOP, BAR_HEIGHT = 8, 16
ROW_HEIGHT = 18
LABEL_CHARACTERS = 48  # a stance label is up to 120; the rest is in the <title>


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1].rstrip() + "…"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def badge_svg(summary: dict, *, title: str) -> str:
    """The SVG for a topic summary (as the summary endpoint answers it); every text from users escaped."""
    stances = summary["stances"]
    inner = WIDTH - 2
    segments, x = [], 1.0
    empty = summary["replies"] == 0
    for index, row in enumerate(stances):
        width = inner / len(stances) if empty else inner * row["reply_share"]
        segments.append(
            (
                f"{x:.1f}",
                BAR_TOP,
                f"{width:.1f}",
                BAR_HEIGHT,
                "#d0d0d0" if empty else colour(index),
                f"{row['label']}: {_pct(row['reply_share'])} of replies",
            )
        )
        x += width
    legend = format_html_join(
        "",
        '<rect x="1" y="{}" width="10" height="10" fill="{}"/><text x="16" y="{}">{} {}</text>',
        (
            (
                BAR_TOP + BAR_HEIGHT + 6 + i * ROW_HEIGHT,
                colour(i),
                BAR_TOP + BAR_HEIGHT + 15 + i * ROW_HEIGHT,
                _pct(row["reply_share"]),
                _short(row["label"]),
            )
            for i, row in enumerate(stances)
        ),
    )
    height = BAR_TOP + BAR_HEIGHT + 8 + len(stances) * ROW_HEIGHT
    summary_text = "; ".join(f"{row['label']}: {_pct(row['reply_share'])}" for row in stances)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}"><title>{label}</title>'
        "<style>text{{font:12px sans-serif;fill:#1a1a1a}}</style>"
        '<rect width="{w}" height="{h}" fill="#ffffff"/>{bars}{legend}</svg>',
        w=WIDTH,
        h=height,
        label=f"{title} — {summary['replies']} replies. {summary_text}",
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            segments,
        ),
        legend=legend,
    )
