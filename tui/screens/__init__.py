"""The app's screens, one module per area. Each top-level screen class carries a `NAV` entry;
the app discovers them here, gives each a mode, a key and a command-palette entry."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    mode: str
    key: str
    title: str
    description: str
    order: int


def discover() -> list[tuple[NavEntry, type]]:
    """(entry, screen class) for every screen module in this package, in menu order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            entry = getattr(value, "NAV", None)
            if isinstance(entry, NavEntry) and getattr(value, "__module__", None) == module.__name__:
                found.append((entry, value))
    return sorted(found, key=lambda pair: pair[0].order)
