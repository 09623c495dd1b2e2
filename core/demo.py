"""The registry of demo data that `manage.py seed_demo` builds for development.

Each app registers its part from its AppConfig.ready(): after the tree and the users exist,
`seed(stdout, password)` fills what is missing (a rerun adds nothing; what it writes goes to
the details log) and `reset()` deletes it before a --reset. A seeder that makes a login
people should try declares it with `login(...)` (and how to use it with `note(...)`): the
command prints them in one table. Seeders run in the order they were registered (the order
of INSTALLED_APPS' ready()), resets in the reverse order.
"""

SEEDERS: dict[str, tuple] = {}

DEVELOPMENT_PASSWORD = "demo-pass-2026"  # noqa: S105 - a published development-only password


def register_seeder(name: str, seed, reset) -> None:
    SEEDERS[name] = (seed, reset)


# (who, username, where) of the logins to print, in the order declared (cleared per run).
LOGINS: list[tuple[str, str, str]] = []


# Lines the command prints under the table (how to log in as someone).
NOTES: list[str] = []


def login(who: str, username: str, where: str = "") -> None:
    """Declare a demo login for the table `seed_demo` prints at its end."""
    LOGINS.append((who, username, where))


def note(text: str) -> None:
    """A line `seed_demo` prints under the table of logins."""
    NOTES.append(text)
