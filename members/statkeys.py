"""The statistics keys of memberships and dues (declared in core.stats; see its docstring).

Members by status; active members by gender, birth year (age bands are derived when read,
so the counters stay exact as people grow older) and employment type; flows (joined,
transfers in and out, status changes); dues due and paid, money in fen.
"""

from core import stats

from .models import EmploymentType, Gender, MemberStatus

STATUS = stats.family("members.status", values=MemberStatus.values)
ACTIVE = stats.key(STATUS(MemberStatus.ACTIVE), by_industry=True)
RETAINED = STATUS(MemberStatus.RETAINED)
GENDER = stats.family("members.gender", values=Gender.values)
BIRTH_YEAR = stats.family("members.birth_year", pattern=r"\d{4}")
EMPLOYMENT = stats.family("members.employment", values=EmploymentType.values)

JOINED = stats.key("members.flow.joined", by_industry=True)
TRANSFER_IN = stats.key("members.flow.transfer_in")
TRANSFER_OUT = stats.key("members.flow.transfer_out")
FLOW_STATUS = stats.family("members.flow.status", values=MemberStatus.values)
WITHDRAWN = FLOW_STATUS(MemberStatus.WITHDRAWN)

DUES_RECORDS = stats.key("members.dues.records")
DUES_DUE_FEN = stats.key("members.dues.due_fen")
DUES_PAID_FEN = stats.key("members.dues.paid_fen")
DUES_PAID_RECORDS = stats.key("members.dues.paid_records")
