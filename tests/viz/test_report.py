"""The one-file HTML report: figures embedded with captions, text escaped, bad figures refused."""

from __future__ import annotations

import base64
import re

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from poseprior.errors import ValidationError
from poseprior.viz import save_figure
from poseprior.viz.report import (
    ReportFigure,
    ReportSection,
    ReportTable,
    write_html_report,
)


def _png(path):
    fig = Figure(figsize=(2, 1), dpi=50)
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [1, 0])
    return save_figure(fig, path)


def test_report_embeds_every_figure(tmp_path):
    png = _png(tmp_path / "a.png")
    sections = [
        ReportSection(
            "First <section>", rows=[("model", "x & y")], figures=[ReportFigure(png, "a line: what it shows")]
        ),
        ReportSection("Table", tables=[ReportTable(("a", "b"), (("1", "2"), ("3", "<4>")))], notes=["source: here"]),
    ]
    path = write_html_report(sections, tmp_path / "out" / "report.html", title="T", intro="made by a test")
    text = path.read_text()
    assert (
        text.startswith("<!DOCTYPE html>")
        and "First &lt;section&gt;" in text
        and "x &amp; y" in text
        and "&lt;4&gt;" in text
    )
    # The image is the file itself, base64 in the page: the report needs nothing beside it.
    data = re.search(r'src="data:image/png;base64,([^"]+)"', text).group(1)
    assert base64.b64decode(data) == png.read_bytes()
    assert "<figcaption>a line: what it shows</figcaption>" in text and "source: here" in text
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]  # written atomically


def test_bad_figures_and_tables(tmp_path):
    with pytest.raises(ValidationError, match="missing.png"):
        write_html_report(
            [ReportSection("s", figures=[ReportFigure(tmp_path / "missing.png", "c")])], tmp_path / "r.html", title="T"
        )
    (tmp_path / "x.bmp").write_bytes(b"BM")
    with pytest.raises(ValidationError, match="cannot embed"):
        write_html_report(
            [ReportSection("s", figures=[ReportFigure(tmp_path / "x.bmp", "c")])], tmp_path / "r.html", title="T"
        )
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(ValidationError, match="row 1"):
        ReportTable(("a", "b"), (("1", "2"), ("3",)))
