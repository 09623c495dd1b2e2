"""Members: real-name validation, encryption, lifecycle history, counters and cards."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from core import crypto
from core.models import AuditEntry
from members import cards, people, validators
from members.actions import cards as card_actions
from members.actions import records as actions
from members.models import EventKind, Member, MemberStatus
from organizations import counters
from tests.factories import make_id_number, make_member, person_data


def assert_counters_exact():
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


class TestIdNumbers:
    def test_valid_number_is_normalized_and_derives_gender_and_birth(self):
        number = make_id_number(born="19850312", male=False, serial=7)
        assert validators.validate_id_number(number.lower()) == number
        assert validators.gender_of(number) == "female"
        assert validators.birth_date_of(number) == datetime.date(1985, 3, 12)
        assert validators.mask_id_number(number) == number[:4] + "*" * 10 + number[-4:]

    def test_wrong_checksum_is_refused_in_chinese(self):
        number = make_id_number()
        wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
        with pytest.raises(ValidationError) as error:
            validators.validate_id_number(wrong)
        assert error.value.code == "id_checksum"
        assert "最后一位" in str(error.value.messages[0]) or "check" in error.value.messages[0]

    def test_impossible_birth_date_is_refused(self):
        body = "33010619900230123"  # 30 February
        from stdnum.cn import ric

        with pytest.raises(ValidationError) as error:
            validators.validate_id_number(body + ric.calc_check_digit(body + "0"))
        assert error.value.code == "id_component"

    def test_future_birth_date_is_refused(self):
        number = make_id_number(born="20990101")
        with pytest.raises(ValidationError) as error:
            validators.validate_id_number(number, today=datetime.date(2026, 11, 25))
        assert error.value.code == "id_birth_date"

    def test_gender_mismatch_is_reported_on_the_gender_field(self):
        raw = person_data(male=True, gender="female")
        with pytest.raises(ValidationError) as error:
            people.clean_person(raw)
        assert set(error.value.message_dict) == {"gender"}

    def test_bad_phone_is_reported(self):
        with pytest.raises(ValidationError) as error:
            people.clean_person(person_data(phone="12345"))
        assert set(error.value.message_dict) == {"phone"}


@pytest.mark.django_db
class TestMembers:
    def test_identifiers_are_stored_encrypted_and_found_by_hash(self, tree):
        member = make_member(tree.union_a)
        number = member.id_number
        assert len(number) == 18
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM members_member")
            rows = cursor.fetchall()
        flat = " ".join(str(v) for row in rows for v in row)
        assert number not in flat
        assert member.phone not in flat
        assert Member.objects.get(id_hash=crypto.id_hash(number)) == member

    def test_one_person_is_one_member_nationwide(self, tree):
        raw = person_data()
        make_member(tree.union_a, **raw)
        with pytest.raises(ValidationError) as error:
            make_member(tree.union_c, **raw)
        assert "id_number" in error.value.message_dict
        assert Member.objects.count() == 1
        assert_counters_exact()

    def test_membership_numbers_are_unique_with_check_digit(self, tree):
        from stdnum import luhn

        members = [make_member(tree.union_a) for _ in range(5)]
        numbers = {m.membership_number for m in members}
        assert len(numbers) == 5
        assert all(luhn.is_valid(n) and len(n) == 16 for n in numbers)

    def test_a_drawn_number_already_in_use_is_drawn_again(self, tree, monkeypatch):
        existing = make_member(tree.union_a)

        def drawing(*numbers):
            draws = iter(numbers)
            monkeypatch.setattr(cards, "_random_number", lambda prefix: next(draws))

        drawing(existing.membership_number, "2024000000000017")
        assert cards.new_membership_numbers(1, 2024) == ["2024000000000017"]
        drawing(existing.card_number, "8000000000000018")
        assert cards.new_card_numbers(1) == ["8000000000000018"]

    def test_lifecycle_history_and_counters(self, tree, officers):
        member = make_member(tree.union_a, acting_user=officers.a_admin)
        assert_counters_exact()
        assert counters.values(tree.union_a)["members.status.active"] == 1
        member = actions.change_status(
            member=member,
            status=MemberStatus.WITHDRAWN,
            reason="离职",
            acting_user=officers.a_admin,
        )
        assert_counters_exact()
        assert counters.values(tree.union_a).get("members.status.active", 0) == 0
        events = list(member.events.values_list("kind", "from_status", "to_status", "reason"))
        assert events == [
            (EventKind.JOINED, "", "active", ""),
            (EventKind.STATUS_CHANGED, "active", "withdrawn", "离职"),
        ]
        assert not member.card_is_valid
        # A withdrawn membership cannot be expelled afterwards, and nothing is written.
        with pytest.raises(ValidationError):
            actions.change_status(
                member=member, status=MemberStatus.EXPELLED, reason="x", acting_user=None
            )
        assert member.events.count() == 2

    def test_correcting_employment_type_moves_the_counter(self, tree, officers):
        member = make_member(tree.union_a, employment_type="full_time")
        data = people.clean_person(
            {**person_data(), "id_number": member.id_number, "employment_type": "delivery_rider"}
        )
        actions.update_member(member=member, data=data, acting_user=officers.a_admin)
        assert counters.values(tree.union_a).get("members.employment.delivery_rider") == 1
        assert counters.values(tree.union_a).get("members.employment.full_time", 0) == 0
        assert_counters_exact()
        entry = AuditEntry.objects.filter(action="member.changed").get()
        assert "delivery_rider" not in str(entry.changes)

    def test_sibling_admin_cannot_change_a_member(self, tree, officers):
        member = make_member(tree.union_a)
        with pytest.raises(PermissionDenied):
            actions.change_status(
                member=member, status="withdrawn", reason="x", acting_user=officers.b_admin
            )
        with pytest.raises(PermissionDenied):
            actions.reveal(member=member, field="id_number", acting_user=officers.zj_admin)

    def test_reveal_writes_an_audit_entry(self, tree, officers):
        member = make_member(tree.union_a)
        assert (
            actions.reveal(
                member=member, field="phone", acting_user=officers.a_admin, reason="核实"
            )
            == member.phone
        )
        entry = AuditEntry.objects.get(action="member.revealed_phone")
        assert entry.actor == officers.a_admin and entry.object_id == str(member.pk)

    def test_card_token_verifies_until_membership_ends_or_card_is_reissued(self, tree):
        member = make_member(tree.union_a)
        token = cards.card_token(member)
        assert cards.member_for_card_token(token) == (member, True)
        assert cards.member_for_card_token(token[:-2] + "xx") == (None, False)
        member = card_actions.issue_card(member=member)
        assert cards.member_for_card_token(token)[1] is False
        new_token = cards.card_token(member)
        assert cards.member_for_card_token(new_token)[1] is True
        actions.change_status(member=member, status="deceased", reason="病故")
        assert cards.member_for_card_token(new_token)[1] is False

    def test_counter_drift_is_found_and_repaired(self, tree):
        make_member(tree.union_a)
        counters.adjust_counter(tree.union_a, "members.status.active", 3)
        drift = counters.verify(["members."])
        assert drift.wrong == {(tree.union_a.pk, "members.status.active"): (4, 1)}
        counters.repair(drift)
        assert_counters_exact()

    def test_dissolving_a_union_with_members_is_refused(self, tree, officers):
        from organizations.actions import dissolve_organization

        make_member(tree.union_b)
        with pytest.raises(ValidationError):
            dissolve_organization(organization=tree.union_b, acting_user=officers.hz_admin)


@pytest.mark.django_db
def test_members_schedules_exist_after_migrate_and_keep_operator_edits():
    from django_celery_beat.models import PeriodicTask

    from members import schedules

    purge = PeriodicTask.objects.get(name=schedules.DAILY_APPLICATION_PURGE)
    assert purge.task == "members.tasks.joining.purge_unsuccessful_join_applications_task"
    assert (purge.crontab.hour, purge.crontab.minute) == ("3", "30")
    purge.enabled = False
    purge.save()
    schedules.ensure_schedules()
    assert PeriodicTask.objects.get(name=schedules.DAILY_APPLICATION_PURGE).enabled is False
