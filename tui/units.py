"""Sizes, durations and image rates as people read them, the same way everywhere in the app and the CLI."""

from __future__ import annotations


def human_size(count: float | None) -> str:
    """Bytes in decimal units: 512 B, 3.0 MB, 185.0 MB, 1.2 TB; '?' when unknown."""
    if count is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def human_duration(seconds: float | None) -> str:
    """42s, 7m05s or 3h12m; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def human_rate(images_per_s: float | None) -> str:
    """Images per second: 1.25 img/s; '-' when unknown or zero."""
    return f"{images_per_s:.2f} img/s" if images_per_s else "-"


def counted(count: int, noun: str, plural: str = "") -> str:
    """`1 image`, `0 images`, `1,024 images`: a count and its noun, singular only for one (`plural`
    for a noun that does not just take an s)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
