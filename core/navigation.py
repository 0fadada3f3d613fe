"""Role-aware navigation. Each app registers its entries; the base template renders them."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    icon: str
    allowed: Callable[[object], bool]
    order: int = 100
    badge: Callable[[object], int] | None = None


_items: list[NavItem] = []


def register(item: NavItem) -> None:
    _items.append(item)
    _items.sort(key=lambda i: i.order)


def items_for(user) -> list[NavItem]:
    return [i for i in _items if i.allowed(user)]
