"""Home-page panels. Apps register a panel per role; the home page shows the user's."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[[object], dict]
    allowed: Callable[[object], bool]
    order: int = 100


_panels: list[Panel] = []


def register(panel: Panel) -> None:
    _panels.append(panel)
    _panels.sort(key=lambda p: p.order)


def panels_for(request) -> list[dict]:
    return [{"template": p.template, **p.context(request)} for p in _panels if p.allowed(request.user)]
