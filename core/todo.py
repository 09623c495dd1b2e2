"""待办: the work that waits on an officer, gathered from every app.

Core does not know what waits in which app. Each app registers a `Source` (in its
`ready()`): how many of its items wait on a user, and the first few of them in order of
urgency, each source scoped by `organizations.scope` to the unions where the user holds a
grant that can act on the item. The officer's to-do page (`core.admin_todo`) and the count in
the admin's header read every source with two queries each, however many items wait and
however deep the officer's subtree is.

Order of urgency, the same in every source and in the merged list: items past their due
time first (the longest overdue first), then those with a due time (the soonest first), then
those without one (the longest waiting first).
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from collections.abc import Callable

from django.db.models import F, QuerySet
from django.utils import timezone

__all__ = ["Item", "Source", "counts", "items", "order", "register", "sources"]


@dataclasses.dataclass(frozen=True)
class Item:
    """One piece of work. No personal data: the officer opens the item to see who it is."""

    source: str  # the key of its source
    label: str  # what kind of work: 入会申请, 服务点单, …
    title: str  # which one: a reference, a service's or a concern's title
    union: str  # the union it waits on
    since: datetime.datetime  # waiting since
    url: str  # where the officer acts on it
    due: datetime.datetime | None = None
    note: str = ""  # its state, where the kind has more than one: 已补正, 已升级 2 次, …

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due <= timezone.now()

    def sort_key(self) -> tuple:
        far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
        return (self.due is None, self.due or far, self.since, self.source, self.url)


@dataclasses.dataclass(frozen=True)
class Source:
    key: str
    label: str
    # user -> the queryset of everything of this kind that waits on the user
    waiting: Callable[[object], QuerySet]
    # an object of that queryset -> its Item
    item: Callable[[object], Item]
    # the queryset's fields for the order of urgency (a due time may be empty)
    due_field: str | None
    since_field: str
    # where the whole list of this kind is, for "more" (an admin changelist)
    more_url: Callable[[], str] = lambda: ""


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    _SOURCES[source.key] = source


def sources() -> list[Source]:
    return list(_SOURCES.values())


def order(queryset: QuerySet, source: Source) -> QuerySet:
    """The queryset in the order of urgency (see the module's docstring)."""
    fields = [F(source.since_field).asc(), "pk"]
    if source.due_field:
        fields.insert(0, F(source.due_field).asc(nulls_last=True))
    return queryset.order_by(*fields)


def counts(user) -> dict[str, int]:
    """How many items of each kind wait on the user (one COUNT a source)."""
    return {source.key: source.waiting(user).count() for source in sources()}


def items(user, *, limit: int = 50, kind: str | None = None) -> list[Item]:
    """The first `limit` items waiting on the user, of every kind (or of `kind`), most urgent
    first (one query a source)."""
    chosen = [s for s in sources() if kind in (None, s.key)]
    lists = [
        [source.item(obj) for obj in order(source.waiting(user), source)[:limit]]
        for source in chosen
    ]
    return sorted(itertools.chain(*lists), key=Item.sort_key)[:limit]
