"""Demo data is contributed by each app; `manage.py seed_demo` runs the seeders in order.

A seeder must be deterministic (seeded random, fixed dates relative to a fixed anchor)
and idempotent (get_or_create on natural keys), so running the command twice changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Seeder:
    name: str
    order: int
    run: Callable[..., None]  # run(stdout=...) -> None


_seeders: dict[str, Seeder] = {}


def register(name: str, order: int) -> Callable:
    def decorator(func: Callable[..., None]) -> Callable[..., None]:
        _seeders[name] = Seeder(name=name, order=order, run=func)
        return func

    return decorator


def seeders() -> list[Seeder]:
    return sorted(_seeders.values(), key=lambda s: s.order)
