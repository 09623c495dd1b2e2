"""Member export: the members of a scoped list as XLSX or CSV, in the import template's
columns plus number, status and union. A read, but an audited one: identifiers are masked,
every text cell is formula-escaped, and an audit entry records the count."""

import types

from core import spreadsheets
from core.audit import record_audit
from organizations import scope

from .importing.columns import (
    EDUCATION_NAMES,
    EMPLOYMENT_NAMES,
    ETHNICITY_NAMES,
    GENDER_NAMES,
    HEADERS,
    STATUS_NAMES,
)
from .models import Member

__all__ = ["EXPORT_HEADERS", "export_members"]

EXPORT_HEADERS = [*HEADERS, "会员编号", "会籍状态", "所属工会"]


def _export_row(member: Member) -> list:
    org = member.organization
    return [
        member.name,
        member.id_masked,
        member.phone_masked,
        ETHNICITY_NAMES.get(member.ethnicity, member.ethnicity),
        EDUCATION_NAMES.get(member.education, member.education),
        member.employer,
        member.job,
        EMPLOYMENT_NAMES.get(member.employment_type, member.employment_type),
        member.join_date.isoformat(),
        GENDER_NAMES.get(member.gender, member.gender),
        member.birth_date.isoformat(),
        org.uscc,
        member.membership_number,
        STATUS_NAMES.get(member.status, member.status),
        org.name,
    ]


def export_members(*, queryset, acting_user, fmt: str = "xlsx") -> bytes:
    """The members of an already scoped queryset as XLSX or CSV: identifiers masked, every
    text cell formula-escaped; writes an audit entry with the count."""
    if fmt not in ("xlsx", "csv"):
        raise ValueError(fmt)
    if acting_user is not None:
        # Callers scope the queryset; this keeps a slip from leaking another union's rows.
        queryset = scope.filter_queryset(acting_user, queryset, scope.Access.PERSONAL)
    queryset = queryset.filter(deleted_at__isnull=True).select_related("organization")
    seen = {"count": 0, "organization": None}

    def rows():
        for member in queryset.iterator(chunk_size=2000):
            if seen["count"] == 0:
                seen["organization"] = member.organization
            seen["count"] += 1
            yield _export_row(member)

    if fmt == "xlsx":
        content = spreadsheets.write_xlsx(EXPORT_HEADERS, rows(), sheet_title="会员信息")
    else:
        content = spreadsheets.write_csv(EXPORT_HEADERS, rows())
    # The entry concerns a set of members, not one row: object type "member", no id.
    subject = types.SimpleNamespace(_meta=Member._meta, pk="")
    record_audit(
        actor=acting_user,
        action="member.exported",
        obj=subject,
        organization=seen["organization"],
        changes={"count": seen["count"], "format": fmt},
    )
    return content
