"""Background jobs of the union tree. Tasks are thin: they call into the app and log figures."""

import logging

from celery import shared_task

from . import integrity

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
