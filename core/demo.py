"""The registry of demo data that `manage.py seed_demo` builds for development.

Each app registers its part from its AppConfig.ready(): after the tree and the users exist,
`seed(stdout, password)` fills what is missing (a rerun adds nothing) and `reset()` deletes
it before a --reset. Seeders run in the order they were registered (the order of
INSTALLED_APPS' ready()), resets in the reverse order.
"""

SEEDERS: dict[str, tuple] = {}

DEVELOPMENT_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published development-only password


def register_seeder(name: str, seed, reset) -> None:
    SEEDERS[name] = (seed, reset)
