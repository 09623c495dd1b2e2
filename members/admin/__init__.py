"""The members admin, one module per feature; importing registers every ModelAdmin."""

from . import dues, joining, members, spreadsheets, transfers  # noqa: F401
