"""The API adapter of the scope: the base viewsets every tenant-scoped endpoint derives
from, and their object permission."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from core.api import ActionCreateMixin

from ..models import Organization
from ..openapi import TENANT_PARAMETER, ScopedAutoSchema
from .policy import Access, can, filter_queryset, get_object_or_404, tenant_q


class ScopedPermission(permissions.IsAuthenticated):
    """Authenticated, and any object reached must be in scope (checked again per object)."""

    def has_object_permission(self, request, view, obj):
        return can(request.user, view.required_access(), obj)


class ScopedFilterBackend(DjangoFilterBackend):
    """django-filter for scoped viewsets: a filter naming a related row (`?service=`,
    `?organization=`, `?session=`…) matches only the ids the caller may know, so another
    tenant's id finds exactly what an id that does not exist finds: nothing (200, an
    empty page), never a different answer that tells that it exists. A value that is not
    an id at all (`?service=abc`) is refused with 400, as the schema's integer says.

    An id is known when its row is in the caller's scope for the view's access, or when a
    row the caller sees refers to it (a request names the city's service it ordered).
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            if _only_unknown_ids(filterset):
                return queryset.none()
            raise translate_validation(filterset.errors)
        return filterset.qs

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        access = view.required_access()
        for choice in filterset.filters.values():
            if isinstance(choice, (ModelChoiceFilter, ModelMultipleChoiceFilter)):
                choice.queryset = _known(
                    request.user, choice.get_queryset(request), queryset, choice, access
                )
        return filterset


def _only_unknown_ids(filterset) -> bool:
    """Whether every error of the filterset is a related-row filter given well-formed ids
    that name no row the caller may know."""
    for name, errors in filterset.errors.as_data().items():
        choice = filterset.filters.get(name)
        if not isinstance(choice, (ModelChoiceFilter, ModelMultipleChoiceFilter)):
            return False
        if any(error.code not in ("invalid_choice", "invalid_pk_value") for error in errors):
            return False
        if choice.extra.get("to_field_name") not in (None, "pk", "id"):
            return False
        values = filterset.data.getlist(name) if hasattr(filterset.data, "getlist") else []
        if not values or not all(str(v).strip().lstrip("-").isdigit() for v in values):
            return False
    return True


def _known(user, choices: QuerySet, seen: QuerySet, choice, access: Access) -> QuerySet:
    """The rows of `choices` in the user's scope for `access` or referred to by `seen`."""
    to_field = choice.extra.get("to_field_name") or "pk"
    referred = Exists(seen.filter(**{choice.field_name: OuterRef(to_field)}))
    try:
        own = tenant_q(user, access, choices.model)
    except TypeError:  # not a tenant-owned model: known only through the rows seen
        own = Q(pk__in=[])
    return choices.filter(own | Q(referred))


def _filter_backends() -> list:
    """The default filter backends, with django-filter replaced by the scoped one."""
    return [
        ScopedFilterBackend if backend is DjangoFilterBackend else backend
        for backend in api_settings.DEFAULT_FILTER_BACKENDS
    ]


# What a scoped viewset may not replace, with where a narrower rule goes instead.
_SEALED = {
    "get_queryset": "narrow the scoped queryset in narrow_queryset()",
    "get_object": "objects come from the scoped queryset; narrow it in narrow_queryset()",
    "get_permissions": "list further permission classes after ScopedPermission in "
    "permission_classes",
}


class ScopedGenericViewSet(viewsets.GenericViewSet):
    """The base of every tenant-scoped API viewset.

    Subclasses set `queryset` and may narrow it in `narrow_queryset`; they cannot replace
    `get_queryset`, `get_object` or `get_permissions`, nor drop `ScopedPermission` from
    `permission_classes` (all refused when the class is created), so no endpoint forgets
    the scope. Rows outside the scope answer 404. The tenant of a new row comes from
    `tenant_for_create()` (the URL), never from the request body. Filters naming related
    rows accept only ids the caller may know (`ScopedFilterBackend`).
    """

    permission_classes = [ScopedPermission]
    filter_backends = _filter_backends()
    # Documents the error answers every scoped operation can give (400, 403, 404, 415).
    schema = ScopedAutoSchema()
    read_access = Access.VIEW
    write_access = Access.CHANGE

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The class itself and any mixin placed before this base in its MRO.
        for klass in cls.__mro__[: cls.__mro__.index(ScopedGenericViewSet)]:
            for name, instead in _SEALED.items():
                if name in vars(klass):
                    raise TypeError(
                        f"{cls.__name__} overrides {name} (in {klass.__name__}); {instead} instead."
                    )
        if any(
            issubclass(b, DjangoFilterBackend) and not issubclass(b, ScopedFilterBackend)
            for b in cls.filter_backends
        ):
            raise TypeError(
                f"{cls.__name__} filters with DjangoFilterBackend, whose choices are not "
                "scoped; use ScopedFilterBackend."
            )
        if not any(
            isinstance(p, type) and issubclass(p, ScopedPermission) for p in cls.permission_classes
        ):
            raise TypeError(
                f"{cls.__name__} drops ScopedPermission from permission_classes; list further "
                "permission classes after it instead."
            )

    def required_access(self) -> Access:
        if self.request.method in permissions.SAFE_METHODS:
            return self.read_access
        return self.write_access

    def get_queryset(self):
        qs = filter_queryset(self.request.user, self.queryset.all(), self.required_access())
        return self.narrow_queryset(qs)

    def narrow_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def organization_from_query(self, access: Access | None = None) -> Organization:
        """The organization named by `?organization=<id>`, within the caller's scope for
        `access` (default: the viewset's write access); 404 outside it."""
        org_id = self.request.query_params.get("organization")
        if not org_id:
            raise ValidationError({"organization": [_("Give ?organization=<union id>.")]})
        return get_object_or_404(
            self.request.user, Organization.objects.all(), access or self.write_access, pk=org_id
        )

    def tenant_for_create(self) -> Organization:
        """The organization a new row belongs to: from the URL, never from the body."""
        return self.organization_from_query()

    def perform_create(self, serializer):
        serializer.save(organization=self.tenant_for_create())


class ScopedModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    ScopedGenericViewSet,
):
    """Scoped list, detail, create, update and delete."""


class TenantCreateMixin(ActionCreateMixin):
    """Create through an action, in the organization that `?organization=` names (within
    the caller's write access; 404 outside it), documented as such in the schema."""

    create_parameters = (TENANT_PARAMETER,)

    def get_create_owner(self):
        return self.tenant_for_create()
