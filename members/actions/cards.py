"""Membership cards (会员卡): issuing and reissuing them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit

from ..cards import new_card_numbers
from ..models import Member


def issue_card(*, member: Member, acting_user=None) -> Member:
    """Issue a card, or reissue one (the old card's QR stops verifying)."""
    if not member.is_current:
        raise ValidationError(_("Only current members can have a membership card."))
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if member.card_number:
            member.card_serial += 1
        else:
            member.card_number = new_card_numbers(1)[0]
        member.card_issued_at = timezone.now()
        member.card_revoked_at = None
        member.save(
            update_fields=["card_number", "card_serial", "card_issued_at", "card_revoked_at"]
        )
        record_audit(
            actor=acting_user,
            action="member.card_issued",
            obj=member,
            organization=member.organization,
            changes={"serial": member.card_serial},
        )
    return member
