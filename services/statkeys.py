"""The statistics keys of member services (declared in core.stats; see its docstring).

Counted per member's own union: service orders (by category and outcome, ratings), wishes
and their votes, concerns (raised, open, overdue, escalations, answers and the seconds to
them, ratings), activities, hardship aid (money in fen) and service station visits.
"""

from core import stats

from .models import ServiceCategory

MENU = "services.menu."
REQUESTS = stats.key(MENU + "requests")
COMPLETED = stats.key(MENU + "completed")
REJECTED = stats.key(MENU + "rejected")
CANCELLED = stats.key(MENU + "cancelled")
CATEGORY = stats.family(MENU + "category", values=ServiceCategory.values)
REQUEST_RATING_SUM = stats.key(MENU + "rating_sum")
REQUEST_RATING_COUNT = stats.key(MENU + "rating_count")
WISHES_OPEN = stats.key(MENU + "wishes_open")
WISH_VOTES = stats.key(MENU + "wish_votes")

VOICE = "services.voice."
RAISED = stats.key(VOICE + "raised")
OPEN = stats.key(VOICE + "open")
OVERDUE = stats.key(VOICE + "overdue")  # open concerns escalated at least once
ESCALATIONS = stats.key(VOICE + "escalations")
ANSWERED = stats.key(VOICE + "answered")
RESPONSE_SECONDS = stats.key(VOICE + "response_seconds")  # sum of seconds to the first answer
CONCERN_RATING_SUM = stats.key(VOICE + "rating_sum")
CONCERN_RATING_COUNT = stats.key(VOICE + "rating_count")

ACTIVITIES = "services.activities."
REGISTRATIONS = stats.key(ACTIVITIES + "registrations")
ATTENDANCE = stats.key(ACTIVITIES + "attendance")

AID = "services.aid."
AID_CASES = stats.key(AID + "cases")
AID_APPROVED = stats.key(AID + "approved")
AID_DISBURSED_COUNT = stats.key(AID + "disbursed_count")
AID_DISBURSED_FEN = stats.key(AID + "disbursed_fen")

STATIONS = "services.stations."
STATION_VISITS = stats.key(STATIONS + "visits")
STATION_RATING_SUM = stats.key(STATIONS + "rating_sum")
