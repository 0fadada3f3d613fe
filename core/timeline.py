"""One timeline per person, filled by every app that records something about them.

The resident archive and the faculty page show what rotations, supervision, 出科 results,
evaluations, exams and teaching attendance recorded, without importing those apps: each app
registers a source for a subject ("resident" or "faculty") in its `timeline.py`, and the
page asks `entries()`. A source receives the subject's profile and the viewer, and returns
only what that viewer may see.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.functional import Promise

RESIDENT = "resident"
FACULTY = "faculty"


@dataclass(frozen=True)
class TimelineEntry:
    when: date | datetime
    title: str | Promise
    detail: str | Promise = ""
    #: the contributing app's name for the kind of event, used for filtering and colour
    kind: str = ""
    icon: str = "circle"
    url: str = ""

    @property
    def day(self) -> date:
        if isinstance(self.when, datetime):
            return timezone.localtime(self.when).date() if timezone.is_aware(self.when) else self.when.date()
        return self.when


Source = Callable[[object, object], Iterable[TimelineEntry]]

_sources: dict[str, dict[str, Source]] = {}


def register(subject: str, name: str) -> Callable[[Source], Source]:
    """Decorator: `@timeline.register(timeline.RESIDENT, "rotation")` on `source(profile, viewer)`."""

    def decorator(func: Source) -> Source:
        _sources.setdefault(subject, {})[name] = func
        return func

    return decorator


def sources(subject: str) -> dict[str, Source]:
    return dict(_sources.get(subject, {}))


def entries(subject: str, profile, viewer, *, kinds: Iterable[str] | None = None) -> list[TimelineEntry]:
    """Every source's entries for this profile, newest first."""
    wanted = set(kinds) if kinds else None
    collected: list[TimelineEntry] = []
    for name, source in sources(subject).items():
        if wanted is not None and name not in wanted:
            continue
        collected.extend(source(profile, viewer))
    return sorted(collected, key=lambda e: (e.day, str(e.title)), reverse=True)
