"""DRF viewset mixins for writes that go through actions.

A viewset whose create and update call an action (never `serializer.save()`) validates the
body with an input serializer, hands the validated data to the action and answers with its
own serializer of the row the action returns. `ActionCreateMixin` and `ActionUpdateMixin` do
that once, and document the operations in the OpenAPI schema from the same input serializers
they validate with; `ActionViewSetMixin` gives custom `@action`s the same two steps.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.status import HTTP_200_OK, HTTP_201_CREATED


class ActionViewSetMixin:
    """Read a validated body; answer with the viewset's serializer of an action's result."""

    # Answer with the row as `queryset` reads it again (its joins and prefetches), not with
    # the instance the action returned.
    reread_after_action = True

    def validated_body(self, serializer_class: type[Serializer]) -> dict:
        """The request body validated by `serializer_class` (400 with its errors if invalid)."""
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def action_response(self, row, status: int = HTTP_200_OK) -> Response:
        """`row` (an action's result) as the viewset's serializer shows it."""
        if self.reread_after_action:
            row = self.queryset.get(pk=row.pk)
        return Response(self.get_serializer(row).data, status=status)


class ActionCreateMixin(ActionViewSetMixin):
    """POST: `get_create_owner()`, then the body validated by `create_input`, then
    `perform_create_action(owner, data)`; answers 201 with the new row."""

    create_input: type[Serializer]
    # OpenAPI parameters of the create operation (e.g. the `?organization=` of the tenant).
    create_parameters: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declares = "create_input" in cls.__dict__ or "create_parameters" in cls.__dict__
        if declares and hasattr(cls, "create_input"):
            extend_schema_view(
                create=extend_schema(
                    parameters=list(cls.create_parameters) or None,
                    request=cls.create_input,
                    responses={201: cls.serializer_class},
                )
            )(cls)

    def get_create_owner(self):
        """What the new row belongs to, resolved before the body is read (a refusal here
        answers first)."""
        raise NotImplementedError

    def perform_create_action(self, owner, data: dict):
        """Call the action that creates the row; return the row."""
        raise NotImplementedError

    # No docstring: the schema would show it in place of the viewset's.
    def create(self, request, *args, **kwargs):
        owner = self.get_create_owner()
        data = self.validated_body(self.create_input)
        row = self.perform_create_action(owner, data)
        return self.action_response(row, status=HTTP_201_CREATED)


class ActionUpdateMixin(ActionViewSetMixin):
    """PATCH (and PUT, the same): the row, then the body validated by `update_input`, then
    `perform_update_action(row, data)`; fields left out keep their value."""

    update_input: type[Serializer]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "update_input" in cls.__dict__:
            extend_schema_view(
                partial_update=extend_schema(
                    request=cls.update_input, responses=cls.serializer_class
                )
            )(cls)

    def perform_update_action(self, row, data: dict):
        """Call the action that changes the row; return the row."""
        raise NotImplementedError

    # No docstrings: the schema would show them in place of the viewset's.
    def partial_update(self, request, *args, **kwargs):
        row = self.get_object()
        data = self.validated_body(self.update_input)
        row = self.perform_update_action(row, data)
        return self.action_response(row)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)
