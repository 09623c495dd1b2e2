"""Django's own messages whose Chinese reads as programmer's jargon ("确保该变量包含不超过 60
字符": a "变量" is a variable), said again in the project's catalogue, which Django reads
before its own (LOCALE_PATHS). Listed here so that `makemessages` keeps them."""

from django.utils.translation import ngettext_lazy

MESSAGES = (
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
