"""Membership and card numbers, and the signed token in a membership card's QR code.

Both numbers have 16 digits, the last a Luhn check digit, and are drawn at random among
those no member has. The token names the card (number and serial), nothing personal;
`member_for_card_token` reads it back.
"""

from __future__ import annotations

import secrets

from django.core.signing import BadSignature, Signer
from django.db import connection
from django.utils import timezone
from stdnum import luhn

from .models import Member


def _random_number(prefix: str, length: int = 16) -> str:
    digits = length - len(prefix) - 1
    body = prefix + str(secrets.randbelow(10**digits)).zfill(digits)
    return body + luhn.calc_check_digit(body)


def _taken(field: str, values: set[str]) -> set[str]:
    """Which of `values` some member already has in `field` (a bulk load asks for thousands:
    on PostgreSQL one array parameter, not one placeholder per value)."""
    if connection.vendor != "postgresql":
        return set(Member.objects.filter(**{f"{field}__in": values}).values_list(field, flat=True))
    column = connection.ops.quote_name(Member._meta.get_field(field).column)
    table = connection.ops.quote_name(Member._meta.db_table)
    # Identifiers from the model's metadata, quoted; the values are a parameter.
    query = f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [list(values)])
        return {value for (value,) in cursor.fetchall()}


def new_membership_numbers(count: int, year: int | None = None) -> list[str]:
    """`count` unused membership numbers: year, 11 random digits and a Luhn check digit."""
    prefix = str(year or timezone.localdate().year)
    numbers: set[str] = set()
    while len(numbers) < count:
        batch = {_random_number(prefix) for _ in range(count - len(numbers))}
        numbers |= batch - _taken("membership_number", batch)
    return sorted(numbers)


def new_card_numbers(count: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        batch = {_random_number("8") for _ in range(count - len(numbers))}
        numbers |= batch - _taken("card_number", batch)
    return sorted(numbers)


_CARD_SIGNER_SALT = "members.card"


def card_token(member: Member) -> str:
    """The signed token in the card's QR code: card number and serial, nothing personal."""
    return Signer(salt=_CARD_SIGNER_SALT).sign(f"{member.card_number}.{member.card_serial}")


def member_for_card_token(token: str) -> tuple[Member | None, bool]:
    """The member a card token names and whether that card is still valid.

    (None, False) for a forged or unknown token; (member, False) for a card that was
    reissued or revoked, or whose membership ended.
    """
    try:
        value = Signer(salt=_CARD_SIGNER_SALT).unsign(token)
        card_number, serial = value.rsplit(".", 1)
        serial = int(serial)
    except (BadSignature, ValueError):
        return None, False
    member = (
        Member.objects.select_related("organization")
        .filter(card_number=card_number, deleted_at__isnull=True)
        .first()
    )
    if member is None:
        return None, False
    return member, member.card_is_valid and member.card_serial == serial
