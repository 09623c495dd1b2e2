"""Writing the audit log (`core.models.AuditEntry`): every change to members, roles and money,
and every read of personal data. Called by the actions of every app."""

from .models import AuditEntry, AuditResult


def record_audit(
    *,
    actor,
    action: str,
    obj,
    organization=None,
    changes=None,
    reason: str = "",
    result: str = AuditResult.DONE,
) -> AuditEntry:
    """Append an audit entry. Call it inside the transaction of the change it records."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        organization=organization,
        changes=changes or {},
        reason=(reason or "")[:200],
        result=result,
    )


def record_read(*, actor, action: str, obj, organization=None, reason: str = "", refused=False):
    """Log a read of personal data (a full ID or phone, an export, an aid or legal-aid case).

    A refused attempt is logged too (result "refused"), before the refusal is raised: call
    it outside any transaction that the refusal rolls back.
    """
    return record_audit(
        actor=actor,
        action=action,
        obj=obj,
        organization=organization,
        reason=reason,
        result=AuditResult.REFUSED if refused else AuditResult.DONE,
    )
