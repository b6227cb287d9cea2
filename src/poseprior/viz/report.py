"""A self-contained HTML report: sections of facts, tables and figures, every image embedded in the one file.

The demo (``poseprior demo``) writes one; any script can. Images (PNG, GIF, JPEG, SVG) are embedded as
``data:`` URIs and MP4 animations as ``<video>`` sources, so the report can be mailed or archived alone.
Every figure carries a caption: one line saying what it shows.

Example:
    >>> section = ReportSection("Samples", rows=[("model", "flow-bandai")], figures=[ReportFigure(Path("grid.png"), "8 samples")])  # doctest: +SKIP
    >>> write_html_report([section], "report.html", title="poseprior demo")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from poseprior._atomic import atomic_path
from poseprior.errors import ValidationError

__all__ = ["ReportFigure", "ReportTable", "ReportSection", "write_html_report"]

_MEDIA = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".mp4": "video/mp4",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } table.facts td:first-child { color: #1b5e8a; white-space: nowrap; }
figure { margin: 1em 0; } figure img, figure video { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; margin-top: .3em; } p.note { font-size: .9em; color: #555; }
"""


@dataclass(frozen=True)
class ReportFigure:
    """An image or animation file and the line saying what it shows."""

    path: Path
    caption: str


@dataclass(frozen=True)
class ReportTable:
    """A table with a header row; cells are already formatted text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        bad = [i for i, row in enumerate(self.rows) if len(row) != len(self.header)]
        if bad:
            raise ValidationError(
                f"rows: row {bad[0]} has {len(self.rows[bad[0]])} cells, the header {len(self.header)}"
            )


@dataclass
class ReportSection:
    """One part of a report (and of the demo's console summary).

    Attributes:
        title: the heading.
        rows: ``(label, value)`` facts, already formatted.
        figures: pictures the section made, in the order to show them.
        tables: tables after the facts.
        notes: free lines of text after everything else (sources, licences).
    """

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    figures: list[ReportFigure] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _embed(figure: ReportFigure) -> str:
    path = Path(figure.path)
    media = _MEDIA.get(path.suffix.lower())
    if media is None:
        raise ValidationError(f"figures: cannot embed {path} (use one of {', '.join(sorted(_MEDIA))})")
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as e:
        raise ValidationError(f"figures: cannot read {path}: {e}") from e
    alt = html.escape(figure.caption, quote=True)
    if media.startswith("video/"):
        body = f'<video controls loop autoplay muted src="data:{media};base64,{data}" title="{alt}"></video>'
    else:
        body = f'<img src="data:{media};base64,{data}" alt="{alt}">'
    return f"<figure>{body}<figcaption>{html.escape(figure.caption)}</figcaption></figure>"


def _table(table: ReportTable) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<tr>{head}</tr>{body}</table>"


def write_html_report(sections: Sequence[ReportSection], path: str | Path, *, title: str, intro: str = "") -> Path:
    """Write ``sections`` as one HTML file at ``path`` (atomically), images embedded; returns the path.

    Raises:
        ValidationError: a figure that is missing, unreadable or of a format that cannot be embedded.
    """
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.rows:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in section.rows)
            parts.append(f'<table class="facts">{rows}</table>')
        parts += [_table(t) for t in section.tables]
        parts += [_embed(f) for f in section.figures]
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
        parts.append("</section>")
    parts.append("</body></html>\n")
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(parts), encoding="utf-8")
    return path
