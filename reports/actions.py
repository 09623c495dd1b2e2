"""State changes of the statistics app: daily snapshots, their backfill, report jobs."""

from __future__ import annotations

import datetime
import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.counters import changes_by_day
from members.models import MembershipEvent
from notifications.actions import link_for, notify_on_commit, settings_by_user
from organizations import rollups, scope
from organizations.models import Organization, OrgRole, OrgRollup, Role
from organizations.rollups import AFFILIATED_PREFIX

from . import selectors
from .models import DailySnapshot, ReportJob, ReportKind, ReportStatus

logger = logging.getLogger(__name__)

NOTIFICATION_KINDS = [
    (
        "reports.ready",
        gettext_lazy("Your statistics report is ready"),
        gettext_lazy("The report of %(organization)s for %(period)s can be downloaded."),
    ),
    (
        "reports.monthly",
        gettext_lazy("Monthly statistics report"),
        gettext_lazy("The monthly report of %(organization)s for %(period)s is ready."),
    ),
]

# Member figures that can be rebuilt for past days from the membership history.
BACKFILL_KEYS = (
    selectors.ACTIVE,
    "members.status.retained",
    selectors.JOINED,
    selectors.WITHDRAWN,
    selectors.TRANSFER_IN,
    selectors.TRANSFER_OUT,
)


# --- Snapshots ------------------------------------------------------------------------------


def take_snapshot(day: datetime.date | None = None) -> int:
    """Store every federation's subtree figures as the figures at the end of `day`
    (default: yesterday, for the job that runs just after midnight). Idempotent."""
    day = day or timezone.localdate() - datetime.timedelta(days=1)
    rollups.fold()
    keys = selectors.with_affiliated(selectors.SNAPSHOT_KEYS)
    org = Organization._meta.db_table
    rollup = OrgRollup._meta.db_table
    snapshot = DailySnapshot._meta.db_table
    key_values = ", ".join(["(%s)"] * len(keys))
    levels = ", ".join(["%s"] * len(selectors.FEDERATION_LEVELS))
    # Every key for every federation, zero where nothing was ever counted: a missing row
    # means "not known" (see selectors.period_flows), never zero.
    sql = f"""
        WITH k(key) AS (VALUES {key_values})
        INSERT INTO {snapshot} (organization_id, date, key, value)
        SELECT o.id, %s, k.key, COALESCE(r.value, 0)
        FROM {org} o
        CROSS JOIN k
        LEFT JOIN {rollup} r ON r.organization_id = o.id AND r.key = k.key
        WHERE o.level IN ({levels})
          AND (k.key NOT LIKE 'affiliated.%%' OR o.level = 'industry')
        ON CONFLICT (organization_id, key, date) DO UPDATE SET value = EXCLUDED.value
    """  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*keys, day, *selectors.FEDERATION_LEVELS])
    # (SQLite reports no row count for a WITH … INSERT.)
    written = DailySnapshot.objects.filter(date=day).count()
    logger.info("statistics snapshot of %s: %d figures", day, written)
    return written


def backfill(start: datetime.date, end: datetime.date | None = None) -> int:
    """Rebuild the member figures of past days from the membership history.

    A day's stock is today's figure minus the events after that day; its flows are today's
    cumulative flows minus those events. Service and dues figures cannot be rebuilt and are
    left out (the period view then shows them as unknown). Returns the rows written.
    """
    today = timezone.localdate()
    end = min(end or today - datetime.timedelta(days=1), today - datetime.timedelta(days=1))
    if start > end:
        raise ValidationError(_("The start of the period is after its end."))
    rollups.fold()
    federations = set(
        Organization.objects.filter(level__in=selectors.FEDERATION_LEVELS).values_list(
            "pk", flat=True
        )
    )
    keys = set(selectors.with_affiliated(BACKFILL_KEYS))
    now: dict[tuple[int, str], int] = {
        (org, key): value
        for org, key, value in OrgRollup.objects.filter(
            organization__in=federations, key__in=keys
        ).values_list("organization_id", "key", "value")
    }
    leaf_by_day = changes_by_day(MembershipEvent.objects.filter(at__date__gt=start))
    # Day by day backwards from today: the figure at the end of D excludes D+1 onwards.
    rows = []
    running = Counter(now)
    day = today
    while day > start:
        changes = rollups.spread(leaf_by_day.get(day, {})) if day in leaf_by_day else {}
        for (org, key), delta in changes.items():
            if org in federations and key in keys:
                running[(org, key)] -= delta
        day -= datetime.timedelta(days=1)
        if day <= end:
            rows.extend(
                DailySnapshot(organization_id=org, date=day, key=key, value=running[(org, key)])
                for org in federations
                for key in keys
                if not key.startswith(AFFILIATED_PREFIX) or (org, key) in running
            )
    with transaction.atomic():
        DailySnapshot.objects.bulk_create(
            rows,
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["organization", "key", "date"],
            update_fields=["value"],
        )
    logger.info("statistics backfill %s..%s: %d figures", start, end, len(rows))
    return len(rows)


def purge_snapshots(keep_days: int = 3 * 366) -> int:
    cutoff = timezone.localdate() - datetime.timedelta(days=keep_days)
    deleted, _ = DailySnapshot.objects.filter(date__lt=cutoff).delete()
    return deleted


# --- Reports --------------------------------------------------------------------------------


def _expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=settings.REPORT_RETENTION_DAYS)


def request_report(*, user, organization: Organization, period: selectors.Period) -> ReportJob:
    """Queue a report of `organization`'s subtree, which must be in the user's statistics scope."""
    if not scope.statistics_organizations(user).filter(pk=organization.pk).exists():
        raise ValidationError(_("You cannot request reports for this organization."))
    from .tasks import build_report_task

    with transaction.atomic():
        job = ReportJob.objects.create(
            organization=organization,
            period_start=period.start,
            period_end=period.end,
            kind=ReportKind.REQUESTED,
            requested_by=user,
            expires_at=_expiry(),
        )
        transaction.on_commit(lambda: build_report_task.delay(job.pk))
    return job


def _progress(job: ReportJob, percent: int) -> None:
    ReportJob.objects.filter(pk=job.pk).update(progress=percent)


def _period_label(job: ReportJob) -> str:
    return f"{job.period_start:%Y-%m-%d} – {job.period_end:%Y-%m-%d}"


def build_report(job_id: int) -> ReportJob | None:
    """Build the job's XLSX and PDF files; idempotent (a finished job is left alone)."""
    from . import files

    with transaction.atomic():
        job = ReportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status == ReportStatus.DONE:
            return job
        job.status = ReportStatus.RUNNING
        job.progress = 5
        job.save(update_fields=["status", "progress"])
    # In the requester's language (monthly reports: the site's, Chinese).
    language = settings.LANGUAGE_CODE
    if job.requested_by_id:
        language = settings_by_user([job.requested_by_id])[job.requested_by_id][0]
    try:
        org = Organization.objects.get(pk=job.organization_id)
        period = selectors.Period(job.period_start, job.period_end)
        with translation.override(language):
            data = selectors.dashboard(org, period, child_page=None)
            _progress(job, 40)
            xlsx = files.write_xlsx(data)
            _progress(job, 70)
            pdf = files.write_pdf(data)
        _progress(job, 95)
        stem = f"report-{job.pk}-{job.period_start:%Y%m%d}-{job.period_end:%Y%m%d}"
    except Exception as exc:
        ReportJob.objects.filter(pk=job.pk).update(
            status=ReportStatus.FAILED, error=type(exc).__name__[:300], finished_at=timezone.now()
        )
        logger.exception("report %s failed", job.pk)
        raise
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().get(pk=job.pk)
        if job.xlsx:
            job.xlsx.delete(save=False)
        if job.pdf:
            job.pdf.delete(save=False)
        job.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx), save=False)
        job.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        job.status = ReportStatus.DONE
        job.progress = 100
        job.error = ""
        job.finished_at = timezone.now()
        job.save()
        _announce(job)
    return job


def _announce(job: ReportJob) -> None:
    context = {"organization": job.organization.name, "period": _period_label(job)}
    link = link_for("reports:detail", job.pk)
    if job.kind == ReportKind.REQUESTED and job.requested_by_id:
        recipients = [job.requested_by_id]
        kind = "reports.ready"
    else:
        recipients = list(
            OrgRole.objects.filter(
                organization_id=job.organization_id, role=Role.ADMIN
            ).values_list("user_id", flat=True)
        )
        kind = "reports.monthly"
    if not recipients:
        return
    notify_on_commit(recipients, kind, context, link, dedupe_key=f"{kind}:{job.pk}")


def monthly_reports(today: datetime.date | None = None) -> int:
    """On the 1st: one report of last month for every federation that has administrators."""
    from .tasks import build_report_task

    period = selectors.last_month(today or timezone.localdate())
    orgs = (
        Organization.objects.filter(
            level__in=selectors.FEDERATION_LEVELS, roles__role=Role.ADMIN, status="active"
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    created = []
    for org_id in orgs.iterator():
        job, new = ReportJob.objects.get_or_create(
            organization_id=org_id,
            kind=ReportKind.MONTHLY,
            period_start=period.start,
            period_end=period.end,
            defaults={"expires_at": _expiry() + datetime.timedelta(days=335)},
        )
        if new or job.status in (ReportStatus.QUEUED, ReportStatus.FAILED):
            created.append(job.pk)
    for pk in created:
        transaction.on_commit(lambda pk=pk: build_report_task.delay(pk))
    return len(created)


def purge_expired() -> int:
    """Delete the files and rows of expired reports."""
    count = 0
    for job in ReportJob.objects.filter(expires_at__lte=timezone.now()).iterator():
        for stored in (job.xlsx, job.pdf):
            if stored:
                stored.delete(save=False)
        job.delete()
        count += 1
    return count
