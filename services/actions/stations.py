"""Service stations (职工之家 / 驿站), members' ratings of their visits, and each
organization's own service settings.

A station belongs to a union and serves the members of that union's subtree: a member may
rate a station of their own union or of any union above it, once per station and day.
The station keeps `rating_sum` and `rating_count` exact (database-side increments in the
rating's transaction), and the member's union counts visits and the sum of their ratings
(`services.stations.visits`, `services.stations.rating_sum`) for the dashboards.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from core.text import validate_plain_text
from members.actions.permissions import require
from members.models import Member
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import LEVEL_RANK, Level, Organization, Role
from organizations.selectors import officers_of

from ..models import ServiceSettings, Station, StationKind, StationVisit
from ..selectors.stations import RATING_SUM, VISITS, count_station_counters, may_rate
from . import check_active_org, require_current_member

__all__ = [
    "clean_settings",
    "clean_station_data",
    "close_station",
    "create_station",
    "rate_visit",
    "reopen_station",
    "save_settings",
    "update_station",
]

# A rating this low tells the station's union that something went wrong at the venue.
LOW_RATING = 2
# How long after a visit a member may still rate it.
RATE_WITHIN_DAYS = 30

# Rough bounds of China's territory (with the South China Sea islands): coordinates outside
# them are nearly always a typing error such as latitude and longitude swapped.
LATITUDE_RANGE = (Decimal(3), Decimal(54))
LONGITUDE_RANGE = (Decimal(73), Decimal(136))

NOTIFICATION_KINDS = [
    (
        "services.stations.low_rating",
        gettext_lazy("A visit to %(station)s was rated %(rating)s of 5"),
        gettext_lazy("Read the member's comment and see what can be done better."),
    ),
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {
        "view_station",
        "add_station",
        "change_station",
        "view_stationvisit",
        "add_servicesettings",
    },
    Role.STAFF: {"view_station", "view_stationvisit"},
}

SCHEDULES: list[dict] = []


counters.register_source("services.stations.", count_station_counters)


# --- Stations ------------------------------------------------------------------------------

STATION_FIELDS = (
    "name",
    "kind",
    "address",
    "opening_hours",
    "latitude",
    "longitude",
    "phone",
    "description",
)
_MAX_LENGTHS = {"name": 120, "address": 255, "opening_hours": 200, "phone": 32}
# Shown on the map and in the directory: no control, bidi or other unsafe characters.
_ONE_LINE = ("name", "address", "opening_hours")


def _coordinate(value, field: str, errors: dict) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = [_("Enter a number in degrees, e.g. 30.274085.")]
        return None
    if not number.is_finite():
        errors[field] = [_("Enter a number in degrees, e.g. 30.274085.")]
        return None
    return number.quantize(Decimal("0.000001"))


def clean_station_data(raw: Mapping) -> dict:
    """Validate a station's fields; returns normalized values or raises ValidationError per field.

    Coordinates are optional, but both or neither, and within China.
    """
    errors: dict[str, list] = {}
    data: dict = {}
    for field in ("name", "address", "opening_hours", "phone", "description"):
        data[field] = str(raw.get(field) or "").strip()
        limit = _MAX_LENGTHS.get(field)
        if limit and len(data[field]) > limit:
            errors[field] = [
                _("At most %(limit)s characters, please shorten it.") % {"limit": limit}
            ]
        elif field in _ONE_LINE:
            try:
                validate_plain_text(data[field])
            except ValidationError as error:
                errors[field] = error.messages
    if not data["name"]:
        errors["name"] = [_("Enter the station's name.")]
    if not data["address"]:
        errors["address"] = [_("Enter the address, so that members can find the station.")]
    kind = raw.get("kind") or StationKind.WORKERS_HOME
    if kind not in StationKind.values:
        errors["kind"] = [_("Choose one of the listed kinds of station.")]
    data["kind"] = kind
    lat = _coordinate(raw.get("latitude"), "latitude", errors)
    lon = _coordinate(raw.get("longitude"), "longitude", errors)
    if "latitude" not in errors and "longitude" not in errors:
        if (lat is None) != (lon is None):
            missing = "longitude" if lon is None else "latitude"
            errors[missing] = [_("Give both latitude and longitude, or leave both empty.")]
        elif lat is not None:
            if not LATITUDE_RANGE[0] <= lat <= LATITUDE_RANGE[1]:
                errors["latitude"] = [
                    _(
                        "A latitude in China lies between 3 and 54 degrees north. "
                        "Check that latitude and longitude are not swapped."
                    )
                ]
            if not LONGITUDE_RANGE[0] <= lon <= LONGITUDE_RANGE[1]:
                errors["longitude"] = [
                    _(
                        "A longitude in China lies between 73 and 136 degrees east. "
                        "Check that latitude and longitude are not swapped."
                    )
                ]
    data["latitude"], data["longitude"] = lat, lon
    if errors:
        raise ValidationError(errors)
    return data


def _snapshot(station: Station) -> dict:
    return {
        f: str(getattr(station, f)) if getattr(station, f) is not None else None
        for f in STATION_FIELDS
    }


def create_station(*, organization: Organization, data: Mapping, acting_user) -> Station:
    """Open a new station of `organization` (its administrators)."""
    require(acting_user, scope.Access.CHANGE, organization)
    check_active_org(organization)
    cleaned = clean_station_data(data)
    with transaction.atomic():
        station = Station.objects.create(organization=organization, **cleaned)
        record_audit(
            actor=acting_user,
            action="services.station.create",
            obj=station,
            organization=organization,
            changes=_snapshot(station),
        )
    return station


def update_station(*, station: Station, data: Mapping, acting_user) -> Station:
    """Correct a station's details; fields left out of `data` keep their value."""
    require(acting_user, scope.Access.CHANGE, station)
    cleaned = clean_station_data({**_snapshot(station), **data})
    with transaction.atomic():
        station = Station.objects.select_for_update().get(pk=station.pk)
        before = _snapshot(station)
        for field, value in cleaned.items():
            setattr(station, field, value)
        after = _snapshot(station)
        changes = {f: [before[f], after[f]] for f in STATION_FIELDS if before[f] != after[f]}
        if changes:
            station.save(update_fields=list(changes))
            record_audit(
                actor=acting_user,
                action="services.station.update",
                obj=station,
                organization=station.organization,
                changes=changes,
            )
    return station


def _set_open(station: Station, acting_user, is_active: bool) -> Station:
    require(acting_user, scope.Access.CHANGE, station)
    with transaction.atomic(durable=True):
        station = Station.objects.select_for_update().get(pk=station.pk)
        if station.is_active == is_active:
            return station
        station.is_active = is_active
        station.save(update_fields=["is_active"])
        record_audit(
            actor=acting_user,
            action="services.station.reopen" if is_active else "services.station.close",
            obj=station,
            organization=station.organization,
            changes={"is_active": [not is_active, is_active]},
        )
    return station


def close_station(*, station: Station, acting_user) -> Station:
    """Close a station: it leaves the members' lists and takes no more ratings. Its ratings
    and history are kept, and it can be reopened."""
    return _set_open(station, acting_user, False)


def reopen_station(*, station: Station, acting_user) -> Station:
    return _set_open(station, acting_user, True)


# --- Ratings --------------------------------------------------------------------------------


def _station_link(station: Station) -> str:
    return link_for("admin:services_station_change", station.pk)


def rate_visit(
    *,
    station: Station,
    member: Member,
    rating: int,
    comment: str = "",
    visited_on: datetime.date | None = None,
) -> StationVisit:
    """Record the member's rating of a visit (once per station and day) and add it to the
    station's average."""
    require_current_member(member)
    closed = _("This station is closed, so it cannot be rated.")
    if not station.is_active:
        raise ValidationError(closed)
    if not may_rate(member, station):
        raise ValidationError(
            _(
                "This station belongs to another union. You can rate the stations of your "
                "own union and of the unions above it."
            )
        )
    errors: dict[str, list] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = [_("Choose a rating from 1 to 5 stars.")]
    comment = str(comment or "").strip()
    if len(comment) > 500:
        errors["comment"] = [_("At most 500 characters, please shorten your comment.")]
    today = timezone.localdate()
    visited_on = visited_on or today
    if visited_on > today:
        errors["visited_on"] = [_("The visit date cannot be in the future.")]
    elif (today - visited_on).days > RATE_WITHIN_DAYS:
        errors["visited_on"] = [
            _("Visits can be rated up to %(days)s days afterwards.") % {"days": RATE_WITHIN_DAYS}
        ]
    if errors:
        raise ValidationError(errors)
    already = _("You have already rated your visit to this station on that day.")
    with transaction.atomic():
        if StationVisit.objects.filter(
            station=station, member=member, visited_on=visited_on
        ).exists():
            raise ValidationError(already)
        try:
            # A concurrent second rating loses on the unique constraint, not on our check.
            with transaction.atomic():
                visit = StationVisit.objects.create(
                    station=station,
                    member=member,
                    member_union=member.organization,
                    visited_on=visited_on,
                    rating=rating,
                    comment=comment,
                )
        except IntegrityError:
            raise ValidationError(already) from None
        # Conditional on the station being open now (the caller's copy may be stale); the
        # increments are done by the database, so concurrent ratings never lose one.
        updated = Station.objects.filter(pk=station.pk, is_active=True).update(
            rating_count=F("rating_count") + 1, rating_sum=F("rating_sum") + rating
        )
        if not updated:
            raise ValidationError(closed)
        counters.adjust(
            {
                (member.organization_id, VISITS): 1,
                (member.organization_id, RATING_SUM): rating,
            }
        )
        record_audit(
            actor=member.user,
            action="services.station.rate",
            obj=visit,
            organization=member.organization,
            changes={"station": station.pk, "rating": rating},
        )
        if rating <= LOW_RATING:
            notify_on_commit(
                officers_of(station.organization_id),
                "services.stations.low_rating",
                {"station": station.name, "rating": rating},
                _station_link(station),
                dedupe_key=f"services.stations.low_rating:{visit.pk}",
            )
    station.refresh_from_db(fields=["rating_count", "rating_sum"])
    return visit


# --- Settings per organization ---------------------------------------------------------------

SETTINGS_FIELDS = (
    "concern_days_general",
    "concern_days_difficult",
    "concern_days_complex",
    "aid_approval_level",
    "aid_notice_days",
)
_DAY_LIMITS = {
    "concern_days_general": (1, 365),
    "concern_days_difficult": (1, 365),
    "concern_days_complex": (1, 365),
    "aid_notice_days": (1, 30),
}

# Hardship aid is approved above the grassroots union that reviewed the case.
AID_APPROVAL_LEVELS = [
    level for level in Level.values if LEVEL_RANK[level] < LEVEL_RANK[Level.GRASSROOTS]
]


def clean_settings(raw: Mapping) -> dict:
    """Validate service settings; returns normalized values or raises ValidationError per
    field. Every field must be present (the caller merges the current values in)."""
    errors: dict[str, list] = {}
    data: dict = {}
    for field, (low, high) in _DAY_LIMITS.items():
        value = raw.get(field)
        try:
            number = int(value)
            if isinstance(value, bool) or str(number) != str(value).strip():
                raise ValueError
        except (TypeError, ValueError):
            errors[field] = [_("Enter a whole number of days.")]
            continue
        if not low <= number <= high:
            errors[field] = [
                _("Enter a number of days from %(low)s to %(high)s.") % {"low": low, "high": high}
            ]
        data[field] = number
    level = raw.get("aid_approval_level") or ""
    if level and level not in AID_APPROVAL_LEVELS:
        errors["aid_approval_level"] = [
            _(
                "Hardship aid is approved by a union above the grassroots union: choose a "
                "federation or industry union level, or leave it empty for the default."
            )
        ]
    data["aid_approval_level"] = level
    if not errors and not (
        data["concern_days_general"]
        <= data["concern_days_difficult"]
        <= data["concern_days_complex"]
    ):
        errors["concern_days_difficult"] = [
            _(
                "A difficult concern cannot get less time than a general one, nor a complex "
                "one less than a difficult one."
            )
        ]
    if errors:
        raise ValidationError(errors)
    return data


def _settings_values(row: ServiceSettings) -> dict:
    return {f: getattr(row, f) for f in SETTINGS_FIELDS}


def save_settings(*, organization: Organization, data: Mapping, acting_user) -> ServiceSettings:
    """Create or change `organization`'s service settings (its administrators); fields left
    out of `data` keep their value (or the default)."""
    require(acting_user, scope.Access.CHANGE, organization)
    with transaction.atomic():
        # Lock the organization row: two first saves must not both try to create the row.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        row = ServiceSettings.objects.select_for_update().filter(organization=organization).first()
        created = row is None
        if created:
            row = ServiceSettings(organization=organization)
        before = _settings_values(row)
        cleaned = clean_settings({**before, **{k: v for k, v in data.items() if k in before}})
        for field, value in cleaned.items():
            setattr(row, field, value)
        changes = {
            f: [before[f], cleaned[f]]
            for f in SETTINGS_FIELDS
            if created or before[f] != cleaned[f]
        }
        if changes:
            row.save()
            record_audit(
                actor=acting_user,
                action="services.settings.create" if created else "services.settings.update",
                obj=row,
                organization=organization,
                changes=changes,
            )
    return row
