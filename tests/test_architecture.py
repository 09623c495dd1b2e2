"""The apps import one another in one direction only (README, "Architecture").

Every import statement of the application code is read, at module level and inside
functions alike: an import may only point down the layers below, `notifications` is a leaf
that imports `core` alone, `core` imports no domain app, and no app imports another app's
views, admin, forms, API or URL modules (what two apps share lives in `core`, whose shared
admin, form and API helpers every app may use, or in the lower app's actions and
selectors). The self-tests plant each kind of fault and see it reported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Top to bottom; an app may import the apps of any later layer, none of an earlier one or of
# its own layer.
LAYERS: list[tuple[str, ...]] = [
    ("unionhub",),
    ("reports",),
    ("services",),
    ("members",),
    ("accounts",),
    ("organizations",),
    ("core",),
]
LEAF = "notifications"  # anyone may call it; it imports core only
APPS = {app for layer in LAYERS for app in layer} | {LEAF}
# Modules of an app that other apps must not import (UI and wiring layers).
PRIVATE = {"views", "admin", "forms", "api", "urls"}
# The project package wires every app's URLs and API routes together.
WIRING = "unionhub"


def rank(app: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if app in layer)


def imported_modules(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    package = list(path.with_suffix("").parts)[:-1]  # the module's package
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from members import views` imports a module as a name.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def violations(files: dict[Path, str]) -> list[str]:
    """Every import against the direction, as 'file:line: app -> module (why)'."""
    out = []
    for path, source in sorted(files.items()):
        app = path.parts[0]
        reported = set()
        for line, module in imported_modules(path, source):
            if line in reported:
                continue  # one finding per import statement
            parts = module.split(".")
            target = parts[0]
            if target not in APPS or target == app:
                continue
            where = f"{path}:{line}: {app} -> {module}"
            if app in (LEAF, "core"):
                why = f"{app} imports core only" if target != "core" else None
            elif target != LEAF and rank(target) <= rank(app):
                why = "upward or sideways"
            elif len(parts) > 1 and parts[1] in PRIVATE and app != WIRING and target != "core":
                why = f"another app's {parts[1]} module"
            else:
                why = None
            if why:
                reported.add(line)
                out.append(f"{where} ({why})")
    return out


def application_files() -> dict[Path, str]:
    files = {}
    for app in sorted(APPS):
        for path in (ROOT / app).rglob("*.py"):
            files[path.relative_to(ROOT)] = path.read_text(encoding="utf-8")
    return files


def test_every_import_points_down_the_layers():
    files = application_files()
    assert len(files) > 100  # the whole application was read
    assert violations(files) == []


@pytest.mark.parametrize(
    ("path", "source", "why"),
    [
        ("organizations/models.py", "from members.models import Member", "upward"),
        ("members/actions/x.py", "def f():\n    from services import models", "upward"),
        ("members/x.py", "import reports.selectors", "upward"),
        ("reports/x.py", "from .. import x\nfrom unionhub import settings", "upward"),
        ("notifications/x.py", "from organizations.models import Organization", "core only"),
        ("core/x.py", "from notifications import kinds", "core only"),
        ("services/views/x.py", "from members.views.portal import member_of", "views"),
        ("services/admin/x.py", "from members.admin import common", "admin"),
        ("services/forms/x.py", "from members import forms", "forms"),
        ("reports/x.py", "from organizations.api import OrganizationViewSet", "api"),
    ],
)
def test_the_check_finds_a_planted_fault(path, source, why):
    found = violations({Path(path): source})

    assert len(found) == 1
    assert why in found[0]


def test_downward_imports_pass_the_check():
    files = {
        Path("services/actions/x.py"): "from members.selectors import people\nfrom core import qr",
        Path("members/x.py"): "from notifications.actions import notify_on_commit",
        Path("unionhub/urls.py"): "from members.views import portal",
        Path("members/actions/y.py"): "from ..models import Member\nfrom . import records",
        Path("notifications/x.py"): "from core.retry import RETRY_POLICY",
        Path("services/admin/x.py"): "from core.admin import ActionFormAdminMixin",
    }
    assert violations(files) == []
