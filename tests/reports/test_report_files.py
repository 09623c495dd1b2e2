"""Report files are safe to open: union names from below never become live formulas,
names carrying control characters (rows older than the rule refusing them) still build,
and the PDF carries its own Chinese font (issue 22, item 4)."""

import io
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from openpyxl import load_workbook

from core.spreadsheets import write_csv, write_workbook
from organizations import actions as org_actions
from organizations.models import Organization
from reports import files
from reports.checks import check_pdf_font
from reports.models import ReportJob, ReportStatus

FORMULA = '=HYPERLINK("http://evil.example/","点此查看")'


@pytest.fixture(autouse=True)
def report_files(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "reports"


def build(client, user, org, capture) -> ReportJob:
    client.force_login(user)
    with capture(execute=True):
        response = client.post(reverse("reports:request"), {"org": org.pk, "period": "30d"})
    assert response.status_code == 302
    job = ReportJob.objects.get(organization=org)
    assert job.status == ReportStatus.DONE, job.error
    return job


def download(client, job, fmt) -> bytes:
    response = client.get(reverse("reports:download", args=[job.pk, fmt]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def cells(workbook):
    for sheet in workbook:
        for row in sheet.iter_rows():
            yield from row


def test_a_child_union_renamed_to_a_formula_is_text_in_the_report_above(
    client, stats, django_capture_on_commit_callbacks
):
    org_actions.update_organization(organization=stats.xihu, data={"name": FORMULA})
    job = build(client, stats.hz_viewer, stats.hz, django_capture_on_commit_callbacks)

    workbook = load_workbook(io.BytesIO(download(client, job, "xlsx")))
    named = [c for c in cells(workbook) if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert named, "the child union is listed"
    for cell in named:
        assert cell.data_type != "f"
        assert cell.value == "'" + FORMULA
    assert not [c.coordinate for c in cells(workbook) if c.data_type == "f"]


def test_a_report_of_the_renamed_union_itself_has_a_text_title(
    client, stats, django_capture_on_commit_callbacks
):
    org_actions.update_organization(organization=stats.xihu, data={"name": FORMULA})
    xihu = Organization.objects.get(pk=stats.xihu.pk)
    job = build(client, stats.hz_viewer, xihu, django_capture_on_commit_callbacks)

    title = load_workbook(io.BytesIO(download(client, job, "xlsx"))).worksheets[0]["A1"]
    assert title.data_type != "f"
    assert title.value.startswith("'" + FORMULA)


def test_a_name_with_control_characters_from_old_rows_builds_cleaned(
    client, stats, django_capture_on_commit_callbacks
):
    # Written past the validators, as rows imported before the rule were.
    Organization.objects.filter(pk=stats.xihu.pk).update(name="西湖区\x07总\x1b工会\u202e")
    job = build(client, stats.hz_viewer, stats.hz, django_capture_on_commit_callbacks)

    workbook = load_workbook(io.BytesIO(download(client, job, "xlsx")))
    values = [c.value for c in cells(workbook) if isinstance(c.value, str)]
    assert "西湖区总工会" in values
    assert not [v for v in values if re.search("[\x00-\x1f\u202a-\u202e]", v)]
    assert download(client, job, "pdf").startswith(b"%PDF")


def test_the_pdf_embeds_a_subset_of_its_chinese_font(
    client, stats, django_capture_on_commit_callbacks
):
    job = build(client, stats.hz_viewer, stats.hz, django_capture_on_commit_callbacks)
    pdf = download(client, job, "pdf")

    assert b"/FontFile2" in pdf  # an embedded TrueType font program
    # A subset is named with a six-letter tag: /BaseFont /AAAAAA+WenQuanYiMicroHei.
    assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYiMicroHei", pdf)
    assert b"STSong" not in pdf
    assert b"UniGB-UCS2" not in pdf  # the CMap of the reader-supplied CID font


def test_a_missing_font_is_a_clear_error_and_a_start_up_warning(settings, tmp_path):
    settings.REPORT_PDF_FONT = str(tmp_path / "missing.ttf")
    with pytest.raises(ImproperlyConfigured, match="fonts-wqy-microhei"):
        files.pdf_font()
    assert [w.id for w in check_pdf_font()] == ["reports.W001"]

    not_a_font = tmp_path / "broken.ttf"
    not_a_font.write_bytes(b"not a font")
    settings.REPORT_PDF_FONT = str(not_a_font)
    with pytest.raises(ImproperlyConfigured, match="cannot be used"):
        files.pdf_font()
    assert check_pdf_font() == []


def test_every_generated_cell_is_escaped_and_cleaned_in_xlsx_and_csv():
    row = [FORMULA, "-1+2", "@SUM(A1)", "正常\x07名称", 42]
    csv_text = write_csv(["=header", "b", "c", "d", "e"], [row]).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("'=header")
    assert "'=HYPERLINK" in csv_text and "'-1+2" in csv_text and "'@SUM(A1)" in csv_text

    workbook = load_workbook(io.BytesIO(write_workbook([("s", ["=h"], [row])])))
    written = list(workbook.worksheets[0].iter_rows(min_row=1))
    assert all(c.data_type != "f" for line in written for c in line)
    assert [c.value for c in written[1]] == ["'" + FORMULA, "'-1+2", "'@SUM(A1)", "正常名称", 42]
