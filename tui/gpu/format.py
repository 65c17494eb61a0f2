"""How GPU figures read, shared by the CLI table and the pane: absent fields are "n/a"."""

from __future__ import annotations

ABSENT = "n/a"
GIB = 1024 ** 3
LOAD_LEVELS = ((80.0, "high"), (50.0, "medium"), (0.0, "low"))
"""Lower bounds, in percent, of each load level; the pane and the table colour by them."""


def number(value: float | None, unit: str = "", digits: int = 0) -> str:
    return ABSENT if value is None else f"{value:.{digits}f}{unit}"


def gib(value: int | None) -> str:
    return ABSENT if value is None else f"{value / GIB:.1f} GiB"


def memory(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return ABSENT
    return f"{gib(used).removesuffix(' GiB')}/{gib(total)}"


def power(draw: float | None, limit: float | None) -> str:
    if draw is None and limit is None:
        return ABSENT
    return f"{number(draw)}/{number(limit, ' W')}"


def load_level(percent: float | None) -> str | None:
    """"low", "medium" or "high"; None when the figure is absent."""
    if percent is None:
        return None
    return next(level for bound, level in LOAD_LEVELS if percent >= bound)
