"""The member spreadsheet as a format: its columns and the values people write in them
(`columns`), checking its rows (`rows`) and its import template (`template`).

Reading and writing the files themselves (XLSX, CSV) is `core.spreadsheets`; the import
job that runs the check and writes the members is `members.actions.spreadsheets`; the
export is `members.exports`.
"""
