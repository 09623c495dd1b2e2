"""Key rotation of the personal-data encryption (core.crypto): the first key of
FIELD_ENCRYPTION_KEYS encrypts, every key listed decrypts, and `rotate_encryption_keys`
re-encrypts every stored token under the first key so the old one can be removed."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.phones import set_account_phone
from core import crypto
from members.actions import joining
from tests.factories import UserFactory, make_member, person_data

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def keys(settings):
    """Two keys, old and new; `use(*keys)` lists them in FIELD_ENCRYPTION_KEYS."""

    class Keys:
        old = Fernet.generate_key().decode()
        new = Fernet.generate_key().decode()

        @staticmethod
        def use(*listed):
            settings.FIELD_ENCRYPTION_KEYS = list(listed)

    return Keys


def test_the_first_key_encrypts_and_every_listed_key_decrypts(keys):
    keys.use(keys.old)
    under_old = crypto.encrypt(ID_NUMBER)

    keys.use(keys.new, keys.old)
    assert crypto.decrypt(under_old) == ID_NUMBER
    under_new = crypto.encrypt(ID_NUMBER)
    assert Fernet(keys.new).decrypt(under_new.encode()).decode() == ID_NUMBER
    with pytest.raises(InvalidToken):
        Fernet(keys.old).decrypt(under_new.encode())
    rotated = crypto.rotate(under_old)
    assert Fernet(keys.new).decrypt(rotated.encode()).decode() == ID_NUMBER

    # The old key removed: what only it encrypted can no longer be read, and says so.
    keys.use(keys.new)
    assert crypto.decrypt(under_new) == crypto.decrypt(rotated) == ID_NUMBER
    with pytest.raises(ImproperlyConfigured, match="a key is missing"):
        crypto.decrypt(under_old)
    assert crypto.encrypt("") == crypto.decrypt("") == crypto.rotate("") == ""


def stored_tokens() -> dict[tuple[str, int, str], str]:
    """Every non-empty token in the database: (model, pk, field) → token."""
    tokens = {}
    for model, names in crypto.encrypted_fields().items():
        for row in model._base_manager.values("pk", *names):
            for name in names:
                if row[name]:
                    tokens[(model._meta.label, row["pk"], name)] = row[name]
    return tokens


def test_rotate_encryption_keys_re_encrypts_every_stored_identifier(tree, keys):
    keys.use(keys.old)
    for _ in range(3):
        make_member(tree.union_a)
    joining.submit_join_application(
        organization=tree.union_a,
        data=person_data(),
        password="Harbor-lantern-47q",
        privacy_consent=True,
        sensitive_consent=True,
    )
    set_account_phone(UserFactory(), "13912345678")
    before = stored_tokens()
    plain = {place: crypto.decrypt(token) for place, token in before.items()}
    fields = {(label, name) for label, _pk, name in before}
    assert {
        ("members.Member", "id_number_encrypted"),
        ("members.Member", "phone_encrypted"),
        ("members.JoinApplication", "id_number_encrypted"),
        ("members.JoinApplication", "phone_encrypted"),
        ("accounts.AccountPhone", "phone_encrypted"),
    } <= fields

    # A new key first: everything still reads, but only while the old key is listed.
    keys.use(keys.new, keys.old)
    call_command("rotate_encryption_keys", batch=2)  # several batches for the members

    after = stored_tokens()
    assert after.keys() == before.keys()
    assert all(after[place] != before[place] for place in before)
    keys.use(keys.new)
    assert {place: crypto.decrypt(token) for place, token in after.items()} == plain
    # Without the command the same removal would have left them unreadable.
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(next(iter(before.values())))
