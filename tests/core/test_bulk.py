"""core.bulk: the COPY writer is generic machinery (its result is compared with the ORM's,
column by column, in tests/members/test_spreadsheets.py)."""

import ast
from pathlib import Path

import core.bulk

DOMAIN_APPS = {"accounts", "members", "notifications", "organizations", "reports", "services"}


def test_bulk_insert_imports_no_domain_app():
    tree = ast.parse(Path(core.bulk.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported and not imported & DOMAIN_APPS, imported
