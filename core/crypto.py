"""Field encryption and keyed hashes for personal identifiers (members' ID numbers and phones,
officers' phones).

Values are encrypted with Fernet under `FIELD_ENCRYPTION_KEYS` (a list: the first key
encrypts, all keys decrypt, so keys rotate by putting a new one first and running
`manage.py rotate_encryption_keys`, after which the old ones may go). Lookups use an
HMAC-SHA256 under `ID_HASH_KEY`; both keys come from the environment and never from the
database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set.")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS: a key is missing."
        ) from None


def rotate(token: str) -> str:
    """The token re-encrypted under the first (current) key."""
    return _current().rotate(token.encode()).decode() if token else ""


def encrypted_fields() -> dict[type, list[str]]:
    """Every model's fields that hold tokens of `encrypt` (named `*_encrypted`), by model."""
    from django.apps import apps

    found = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_encrypted")]
        if names:
            found[model] = names
    return found


def rotate_stored_tokens(batch: int = 1000) -> dict[str, int]:
    """Re-encrypt every stored token under the first key, `batch` rows a transaction, after
    which the other keys may be removed; returns how many rows of each model it went through."""
    from django.db import transaction

    counts = {}
    for model, names in encrypted_fields().items():
        manager, count, last = model._base_manager, 0, None
        while True:
            with transaction.atomic():
                rows = manager.order_by("pk").select_for_update()
                if last is not None:
                    rows = rows.filter(pk__gt=last)
                rows = list(rows.only("pk", *names)[:batch])
                if not rows:
                    break
                for row in rows:
                    for name in names:
                        setattr(row, name, rotate(getattr(row, name)))
                manager.bulk_update(rows, names)
            count, last = count + len(rows), rows[-1].pk
        counts[model._meta.label] = count
    return counts


def keyed_hash(value: str, purpose: str) -> str:
    """HMAC-SHA256 of `value` for lookups; `purpose` keeps ID and phone hashes apart."""
    key = settings.ID_HASH_KEY
    if not key:
        raise ImproperlyConfigured("ID_HASH_KEY is not set.")
    message = f"{purpose}:{value}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def id_hash(id_number: str) -> str:
    return keyed_hash(id_number.strip().upper(), "id")


def phone_hash(phone: str) -> str:
    return keyed_hash(phone.strip(), "phone")
