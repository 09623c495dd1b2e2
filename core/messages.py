"""Django's own messages that have no Chinese, or whose Chinese reads as programmer's
jargon ("确保该变量包含不超过 60 字符": a "变量" is a variable), said again in the project's
catalogue, which Django reads before its own (LOCALE_PATHS). Listed here so that
`makemessages` keeps them."""

from django.utils.translation import gettext_lazy, ngettext_lazy

MESSAGES = (
    # The admin index's table headers, read out by screen readers (Django has no Chinese).
    gettext_lazy("Model name"),
    gettext_lazy("Add link"),
    gettext_lazy("Change or view list link"),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    ngettext_lazy(
        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
)
