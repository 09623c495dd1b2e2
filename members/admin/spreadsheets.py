"""Admin: spreadsheet import and export of members. (Being built.)"""


class MemberSpreadsheetAdminMixin:
    """Adds the import views and export actions to the member admin."""
