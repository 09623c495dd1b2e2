"""A services action that nothing calls inside another transaction commits on its own: run
inside a caller's transaction it refuses at once (`durable=True`) and changes nothing. The
actions the member's erasure runs inside its own transaction still join a caller's."""

import pytest
from django.db import transaction

from services.actions import menu, voice
from services.actions import requests as request_actions
from services.actions import wishes as wish_actions
from services.models import (
    ConcernGrade,
    ConcernStatus,
    PublishStatus,
    RequestStatus,
    Service,
    WishStatus,
)


def nested():
    return pytest.raises(RuntimeError, match="durable atomic block cannot be nested")


def published_service(org, by) -> Service:
    data = {"title": "体检", "category": "inclusive", "description": "年度体检"}
    service = menu.create_service(organization=org, data=data, acting_user=by)
    return menu.publish_service(service=service, acting_user=by)


def concern_of(member):
    data = {"category": "wages", "title": "加班费未发", "text": "三月加班费至今未发放。"}
    return voice.raise_concern(member=member, data=data)


def test_closing_a_service_refuses_to_run_inside_a_caller_s_transaction(tree, officers):
    service = published_service(tree.union_a, officers.a_admin)

    with nested(), transaction.atomic():
        menu.close_service(service=service, acting_user=officers.a_admin)
    service.refresh_from_db()
    assert service.status == PublishStatus.PUBLISHED

    menu.close_service(service=service, acting_user=officers.a_admin)
    service.refresh_from_db()
    assert service.status == PublishStatus.CLOSED


def test_declining_a_wish_and_withdrawing_a_vote_refuse_to_run_inside_a_caller_s_transaction(
    tree, officers, members
):
    wish = wish_actions.propose_wish(
        member=members.a, organization=tree.union_a, title="瑜伽课", acting_user=members.a.user
    )

    with nested(), transaction.atomic():
        wish_actions.withdraw_vote(wish=wish, member=members.a, acting_user=members.a.user)
    with nested(), transaction.atomic():
        wish_actions.decline_wish(wish=wish, answer="预算不足", acting_user=officers.a_staff)
    wish.refresh_from_db()
    assert (wish.status, wish.votes) == (WishStatus.OPEN, 1)

    wish_actions.decline_wish(wish=wish, answer="预算不足", acting_user=officers.a_staff)
    wish.refresh_from_db()
    assert wish.status == WishStatus.DECLINED


def test_grading_a_concern_refuses_to_run_inside_a_caller_s_transaction(tree, officers, members):
    concern = concern_of(members.a)

    with nested(), transaction.atomic():
        voice.grade_concern(
            concern=concern, grade=ConcernGrade.COMPLEX, acting_user=officers.a_staff
        )
    concern.refresh_from_db()
    assert concern.grade != ConcernGrade.COMPLEX


def test_what_the_erasure_closes_joins_the_caller_s_transaction(tree, officers, members):
    service = published_service(tree.union_a, officers.a_admin)
    order = request_actions.order_service(
        service=service, member=members.a, acting_user=members.a.user
    )
    concern = concern_of(members.a)

    with transaction.atomic():
        request_actions.cancel_request(request=order, acting_user=None, reason="注销")
        voice.close_concern(concern=concern, acting_user=None, note="注销")

    order.refresh_from_db()
    concern.refresh_from_db()
    assert order.status == RequestStatus.CANCELLED
    assert concern.status == ConcernStatus.CLOSED
