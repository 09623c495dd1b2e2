"""Background jobs of the union tree. Tasks are thin: they call into the app and log figures."""

import logging

from celery import shared_task

from core import imports
from core.retry import RETRY_POLICY

from . import counters, integrity, rollups
from .actions import import_jobs
from .models import UnionImport

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def check_tree_task(repair: bool = False) -> dict:
    """Nightly: verify every tree (and repair broken ones when asked); returns the figures."""
    reports = integrity.verify_all()
    broken = [r.tree_id for r in reports if not r.ok]
    repaired = []
    if repair:
        repaired = [t for t in broken if integrity.repair_tree(t).ok]
    result = {
        "trees": len(reports),
        "organizations": sum(r.nodes for r in reports),
        "broken": broken,
        "repaired": repaired,
    }
    if broken:
        logger.error("union tree check: broken trees %s, repaired %s", broken, repaired)
    else:
        logger.info("union tree check: %(trees)d trees, %(organizations)d organizations", result)
    return result


@shared_task(**RETRY_POLICY)
def fold_rollups_task() -> int:
    """Fold the counter journal into the subtree roll-ups (queued on commit, and each minute)."""
    return rollups.fold()


@shared_task(acks_late=True)
def check_counters_task(repair: bool = True) -> dict:
    """Nightly: every counter against its rows, every roll-up against the counters.

    Drift is logged as an error with its size (organization ids and keys only) and, with
    `repair`, set right; the figures are returned for the beat log.
    """
    counter_drift = counters.verify()
    counter_fixed = counters.repair(counter_drift) if repair and counter_drift.wrong else 0
    rollups.fold()
    rollup_drift = rollups.verify()
    rollup_fixed = rollups.repair(rollup_drift) if repair and rollup_drift.wrong else 0
    result = {
        "counters": counter_drift.checked,
        "counters_drifted": len(counter_drift.wrong),
        "counters_repaired": counter_fixed,
        "rollups": rollup_drift.checked,
        "rollups_drifted": len(rollup_drift.wrong),
        "rollups_repaired": rollup_fixed,
    }
    if counter_drift.wrong or rollup_drift.wrong:
        sample = sorted(counter_drift.wrong)[:10] + sorted(rollup_drift.wrong)[:10]
        logger.error("statistics drift: %s; first: %s", result, sample)
    else:
        logger.info("statistics check: %s", result)
    return result


def _union_import(job_id: int) -> UnionImport | None:
    return (
        UnionImport.objects.select_related("organization", "created_by").filter(pk=job_id).first()
    )


@shared_task(acks_late=True)
def check_union_import_task(job_id: int) -> None:
    """Check an uploaded union spreadsheet whole and write its row report."""
    imports.run_step(
        _union_import(job_id),
        import_jobs.check_union_import,
        import_jobs.fail_union_import,
        "union import check",
    )


@shared_task(acks_late=True)
def run_union_import_task(job_id: int) -> None:
    """Write a confirmed union spreadsheet in one transaction (or nothing)."""
    imports.run_step(
        _union_import(job_id),
        import_jobs.run_union_import,
        import_jobs.fail_union_import,
        "union import run",
    )
