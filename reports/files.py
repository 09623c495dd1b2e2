"""Report files: the dashboard's figures as an XLSX workbook (openpyxl) and a PDF (reportlab).

Both take the plain data of `selectors.dashboard()`, so a file shows exactly what the
dashboard showed for the same organization and period. Numbers are written as numbers
(readable back with openpyxl); suppressed values as the text "<5".

Union names come from every union below the report's: each text cell is written as every
other export writes it (`core.spreadsheets.safe_cell`: formula-escaped, so a union named
"=HYPERLINK(…)" is text, not a live formula), and without the control and bidi characters
that older rows may still carry (`core.text.printable`). The PDF embeds a subset of the
TrueType font `settings.REPORT_PDF_FONT`, so its Chinese renders on any reader.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from core.spreadsheets import safe_cell
from core.text import printable

from . import selectors

HEADER_FILL = PatternFill("solid", fgColor="C8102E")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def _cell(value, kind: str = "count"):
    if value is None:
        return (
            selectors.SUPPRESSED_TEXT if kind in ("sensitive", "yuan") else selectors.UNKNOWN_TEXT
        )
    if isinstance(value, Decimal):
        return float(value) if kind != "yuan" else value
    return value


def _title(data: dict) -> str:
    period = data["period"]
    return _("%(name)s statistics report, %(start)s to %(end)s") % {
        "name": data["organization"]["name"],
        "start": period["start"],
        "end": period["end"],
    }


def _flow_rows(data: dict) -> list[tuple[str, object]]:
    values = data["flows"]["values"]
    return [(str(label), values.get(key)) for key, label in selectors.PERIOD_FLOWS]


def _child_columns():
    return [
        ("name", _("Union")),
        ("level_label", _("Level")),
        ("members", _("Members")),
        ("grassroots_unions", _("Grassroots unions")),
        ("employees", _("Employees")),
        ("membership_rate", _("Membership rate (%)")),
        ("requests", _("Service orders")),
        ("concerns_open", _("Concerns open")),
    ]


def tables(data: dict) -> list[tuple[str, list[str], list[list]]]:
    """The report's tables as (title, header, rows): shared by the XLSX and the PDF."""
    headline = data["headline"]
    out = [
        (
            _("Overview"),
            [_("Figure"), _("Value")],
            [
                [f"{label} (%)" if kind == "percent" else str(label), _cell(headline[key], kind)]
                for key, label, kind in selectors.HEADLINE
            ],
        ),
        (
            _("Changes in the period"),
            [_("Figure"), _("Value")],
            [[label, _cell(value)] for label, value in _flow_rows(data)],
        ),
        (
            _("Child unions"),
            [str(title) for _key, title in _child_columns()],
            [
                [_cell(row[key]) for key, _title in _child_columns()]
                for row in data["children"]["rows"]
            ],
        ),
        (
            _("By industry"),
            [_("Industry union"), _("Members"), _("Grassroots unions")],
            [[r["label"], r["members"], r["grassroots_unions"]] for r in data["by_industry"]],
        ),
        (
            _("Affiliated grassroots unions by province"),
            [_("Province"), _("Members"), _("Grassroots unions")],
            [
                [r["label"], r["members"], r["grassroots_unions"]]
                for r in data["affiliated_by_region"]
            ],
        ),
        (
            _("By employment type"),
            [_("Employment type"), _("Members")],
            [[r["label"], r["value"]] for r in data["by_employment"]],
        ),
        (
            _("By gender"),
            [_("Gender"), _("Members")],
            [[r["label"], r["value"]] for r in data["by_gender"]],
        ),
        (
            _("By age"),
            [_("Age"), _("Members")],
            [[r["label"], r["value"]] for r in data["by_age"]],
        ),
        (
            _("Service orders by category"),
            [_("Category"), _("Orders")],
            [
                [r["label"], selectors.SUPPRESSED_TEXT if r["value"] is None else r["value"]]
                for r in data["by_category"]
            ],
        ),
        (
            _("Trend"),
            [_("Date"), _("Members"), _("Joined"), _("Withdrew")],
            [
                [p["date"], p["members"], p.get("joined", ""), p.get("withdrawn", "")]
                for p in data["trend"]["points"]
            ],
        ),
        (_("Notes"), [_("Note")], [[str(selectors.UNKNOWN_NOTE)]]),
    ]
    return out


def _text(value):
    """A value as a generated file shows it: text cleaned of invisible characters."""
    return printable(value) if isinstance(value, str) else value


def _xlsx_row(values) -> list:
    return [safe_cell(_text(v)) for v in values]


def write_xlsx(data: dict) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for index, (title, header, rows) in enumerate(tables(data)):
        sheet = workbook.create_sheet(title=str(title)[:31])
        start = 1
        if index == 0:
            sheet.append(_xlsx_row([_title(data)]))
            sheet["A1"].font = Font(bold=True, size=14)
            sheet.append(_xlsx_row([_("Figures as of %(time)s") % {"time": _stamp(data)}]))
            sheet.append([])
            start = 4
        sheet.append(_xlsx_row(str(h) for h in header))
        for cell in sheet[start]:
            cell.fill = HEADER_FILL
            cell.font = HEADER_FONT
            cell.alignment = Alignment(horizontal="center")
        for row in rows:
            sheet.append(_xlsx_row(row))
        sheet.column_dimensions["A"].width = 36
        for column in "BCDEFGH":
            sheet.column_dimensions[column].width = 16
        sheet.freeze_panes = sheet.cell(row=start + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _stamp(data: dict) -> str:
    return timezone.localtime(data["as_of"]).strftime("%Y-%m-%d %H:%M")


def pdf_font() -> str:
    """The reportlab name of the report font, registered from `settings.REPORT_PDF_FONT`
    on first use; ImproperlyConfigured, saying what to install, when it cannot be used."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    path = Path(settings.REPORT_PDF_FONT)
    index = settings.REPORT_PDF_FONT_INDEX
    name = f"UnionHubReport-{path.stem}-{index}"
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    advice = (
        "REPORT_PDF_FONT must name a TrueType font file (.ttf, or .ttc with "
        "REPORT_PDF_FONT_INDEX) with Chinese glyphs, such as WenQuanYi Micro Hei "
        "(apt-get install fonts-wqy-microhei; scripts/install-system-deps.sh installs it)"
    )
    if not path.is_file():
        raise ImproperlyConfigured(f"{advice}; {path} does not exist.")
    try:
        # Embedded as a subset: only the glyphs a report uses go into the file.
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=index))
    except TTFError as error:
        raise ImproperlyConfigured(f"{advice}; {path} cannot be used: {error}") from error
    return name


def write_pdf(data: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=4)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11.5, leading=16, spaceBefore=8)
    small = ParagraphStyle("small", fontName=font, fontSize=8.5, leading=11)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_text(_title(data)),
    )
    story = [
        Paragraph(escape(_text(_title(data))), title),
        Paragraph(escape(_("Figures as of %(time)s") % {"time": _stamp(data)}), small),
        Paragraph(
            escape(
                _("Counts from 1 to 4 in hardship aid, legal aid and counselling are shown as <5.")
            ),
            small,
        ),
        Spacer(1, 4 * mm),
    ]
    for table_title, header, rows in tables(data):
        story.append(Paragraph(escape(str(table_title)), heading))
        if not rows:
            story.append(Paragraph(escape(_("No data.")), small))
            continue
        body = [[str(h) for h in header]] + [
            [f"{v:,}" if isinstance(v, int) else _text(str(v)) for v in row] for row in rows
        ]
        table = Table(body, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 8.5),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#C8102E")),
                    ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#BBBBBB")),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                    (
                        "ROWBACKGROUNDS",
                        (0, 1),
                        (-1, -1),
                        [colors.white, colors.HexColor("#F6F6F6")],
                    ),
                ]
            )
        )
        story.append(table)
    document.build(story)
    return buffer.getvalue()
