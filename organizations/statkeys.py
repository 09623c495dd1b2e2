"""The statistics keys of the union tree (declared in core.stats; see its docstring).

``organizations.units.<level>``: active organizations of each level (a subtree's roll-up
counts its grassroots unions); ``organizations.employees``: employees of active grassroots
unions (the base of the membership rate). The roll-ups break keys down by national industry
union (``industry.<id>.<key>`` on regional ancestors) and sum the affiliated grassroots
unions of every region on the industry union itself (``affiliated.<key>``).
"""

from core import stats

from .models import Level

UNITS = stats.family("organizations.units", values=Level.values)
GRASSROOTS = stats.key(UNITS(Level.GRASSROOTS), by_industry=True)
GROUPS = UNITS(Level.GROUP)
EMPLOYEES = stats.key("organizations.employees", by_industry=True)

INDUSTRY_PREFIX = "industry."
AFFILIATED_PREFIX = "affiliated."
stats.dimension(r"industry\.\d+\.")
stats.dimension(r"affiliated\.")


def industry_key(industry_id: int, key: str) -> str:
    return f"{INDUSTRY_PREFIX}{industry_id}.{key}"
