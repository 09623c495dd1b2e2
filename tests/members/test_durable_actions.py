"""Actions only ever run at the top level (a Celery task, the applicant's status page) commit
on their own: called inside another transaction they refuse to start, so that their writes,
audit entries and notifications never hang on a caller's commit."""

import pytest
from django.db import transaction

from members.actions import joining, transfers
from members.models import ApplicationStatus, JoinApplication
from tests.factories import person_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "job", [joining.purge_unsuccessful_applications, transfers.expire_transfers]
)
def test_a_nightly_job_refuses_to_run_inside_another_transaction(job):
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        job()
    assert job() == 0  # at the top level it runs (nothing is due here)


def test_resubmitting_an_application_refuses_to_run_inside_another_transaction(tree, officers):
    raw = person_data()
    application, _key = joining.submit_join_application(
        organization=tree.union_a,
        data=raw,
        password="Harbor-lantern-47q",
        privacy_consent=True,
        sensitive_consent=True,
    )
    joining.request_correction(application=application, acting_user=officers.a_admin, note="x")
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        joining.resubmit_join_application(application=application, data=raw)
    assert JoinApplication.objects.get().status == ApplicationStatus.NEEDS_CORRECTION
    joining.resubmit_join_application(application=application, data=raw)
    assert JoinApplication.objects.get().status == ApplicationStatus.SUBMITTED
