"""Forms of the services app, one module per feature."""

from members.forms import add_action_errors

__all__ = ["add_action_errors"]
