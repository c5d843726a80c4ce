"""A client's week as a PDF, made with fpdf2 (pure Python, from PyPI, no system packages): the
same SVG charts as the page, the day-by-day table and the coaching notes. Letter pages (a US
practice) whose content stays inside A4 as well: 188 mm wide, ending 245 mm down.

fpdf2's built-in fonts cover Latin-1 only: other characters are replaced, never an error.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from app.web.charts import line_chart
from app.web.times import Fmt
from app.web.week import Day, Week

MARGIN = 14  # mm
COLUMNS = 3
_PLAIN = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."}

# fpdf2 says so for each <title>/<desc> it skips: nothing for our logs.
logging.getLogger("fpdf.svg").setLevel(logging.ERROR)


def plain(text: str) -> str:
    for fancy, simple in _PLAIN.items():
        text = text.replace(fancy, simple)
    return text.encode("latin-1", "replace").decode("latin-1")


def _day_cells(d: Day) -> list[str]:
    entry = d.entry
    diary = "filled in" if entry and entry.completed_at else "partly" if entry else "-"
    if entry and entry.note:
        diary += f': "{entry.note}"'
    texts = f"{d.texts_in} in, {d.texts_out} out" if d.texts_in or d.texts_out else "-"
    calls = "; ".join(d.calls) or "-"
    if d.notes:
        calls += " (coaching note)"
    return [
        f"{d.day:%a %b} {d.day.day}",
        diary,
        calls,
        texts,
        "; ".join(d.check_ins) or "-",
        "; ".join(d.lockouts) or "-",
    ]


def render_pdf(week: Week, fmt: Fmt, now: datetime) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format=(215.9, 279.4))  # Letter
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN + 20)
    title = plain(f"{week.title}: {week.span}")
    pdf.set_title(title)
    pdf.set_creator("coachline")
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(width, 8, plain(week.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    pdf.multi_cell(
        width,
        5,
        plain(
            f"{week.span}. Days in the practice's time zone ({fmt.zone_name}); "
            f"made {fmt.when(now)}. A gap in a chart is a day without an answer; "
            "a triangle, a day they acted on the urge."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)

    # the charts, three to a row
    gap = 4
    chart_w = (width - gap * (COLUMNS - 1)) / COLUMNS
    chart_h = chart_w * 140 / 320
    for i, measure in enumerate(week.measures):
        column = i % COLUMNS
        if column == 0:
            if pdf.will_page_break(chart_h + 12):
                pdf.add_page()
            row_y = pdf.get_y()
        x = MARGIN + column * (chart_w + gap)
        pdf.set_xy(x, row_y)
        pdf.set_font("helvetica", "B", 9)
        pdf.cell(chart_w, 5, plain(f"{measure.name} (0-{measure.top})"))
        svg = line_chart(measure, week.dates, for_pdf=True)
        pdf.image(io.BytesIO(svg.encode()), x=x, y=row_y + 5, w=chart_w, h=chart_h)
        if column == COLUMNS - 1 or i == len(week.measures) - 1:
            pdf.set_xy(MARGIN, row_y + chart_h + 8)

    # the days
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(width, 8, "Day by day", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 8)
    with pdf.table(
        col_widths=(16, 26, 44, 18, 22, 30),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=4,
        text_align="LEFT",
    ) as table:
        table.row(["Day", "Diary card", "Calls", "Texts", "Check-ins", "24-hour rule"])
        for d in week.days:
            table.row([plain(c) for c in _day_cells(d)])

    # the coaching notes
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(width, 8, f"Coaching notes ({len(week.notes)})", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    if not week.notes:
        pdf.multi_cell(width, 5, "No coaching notes in these weeks.", new_x="LMARGIN", new_y="NEXT")
    for row in week.notes:
        lines = [
            f"Call {fmt.when(row.call_started_at)}"
            + (f", {row.therapist_name}" if row.therapist_name else ""),
            "Skills: " + (", ".join(row.skill_names) or "none noted"),
            f"Plan: {row.note.plan}",
        ]
        if row.note.follow_up:
            lines.append(f"Follow-up: {row.note.follow_up}")
        pdf.multi_cell(width, 5, plain("\n".join(lines)), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())
