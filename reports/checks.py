"""System checks of the reports app: what a report build needs, said at start-up."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Warning


def check_pdf_font(app_configs=None, **kwargs) -> list[Warning]:
    """Warn at start-up, not at the first report, when the PDF font file is missing."""
    path = Path(settings.REPORT_PDF_FONT)
    if path.is_file():
        return []
    return [
        Warning(
            f"REPORT_PDF_FONT {path} does not exist: report PDFs cannot be built.",
            hint="Install fonts-wqy-microhei (scripts/install-system-deps.sh) or point "
            "REPORT_PDF_FONT at a TrueType font file with Chinese glyphs.",
            id="reports.W001",
        )
    ]
