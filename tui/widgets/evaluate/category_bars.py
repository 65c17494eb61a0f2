"""Per-category AP as bars, box and mask side by side, for the categories the annotations hold."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.evaluation import CategoryResult, Evaluation
from tui.evaluation.report import percent

BAR_CELLS = 20
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float | None, cells: int = BAR_CELLS) -> str:
    """A left-aligned bar `cells` wide, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, value or 0.0)) * cells * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(cells)


NUMBER = 5
"""Width of a percentage: 100.0."""
WEIGHT = 12
"""Width of the weight column: `not weighted`."""
GAP = 2
MIN_BAR, MIN_NAME = 4, 12


def layout(width: int, longest_name: int) -> tuple[int, int]:
    """(name width, bar cells) for rows of `width` columns: the whole name when it fits beside bars of at
    least MIN_BAR cells, bars up to BAR_CELLS wide, never a row wider than `width` (names are cut last)."""
    fixed = 2 * (NUMBER + 1 + GAP) + WEIGHT  # per IoU type: number, space, bar, gap; then the weight
    name = longest_name + GAP
    cells = min(BAR_CELLS, (width - fixed - name) // 2)
    if cells >= MIN_BAR:
        return name, cells
    return max(MIN_NAME, width - fixed - 2 * MIN_BAR), MIN_BAR


class CategoryBars(Static):
    """One row per annotated category: box AP and mask AP, each its number then its bar under its own
    heading, and the paper's weight; laid out again when the width changes."""

    DEFAULT_CSS = """
    CategoryBars > .category-bars--box {
        color: $primary;
    }
    CategoryBars > .category-bars--mask {
        color: $secondary;
    }
    CategoryBars > .category-bars--muted {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {"category-bars--box", "category-bars--mask", "category-bars--muted"}
    _by_type: dict[str, Evaluation] | None = None
    _laid_out_for = 0
    """The width the rows were last laid out for."""

    def show(self, by_type: dict[str, Evaluation]) -> None:
        self._by_type = by_type
        if not by_type:
            self.update("Select a model to see its AP per category.")
            return
        rows = {t: {c.category_id: c for c in e.per_category} for t, e in by_type.items()}
        any_rows = next(iter(rows.values()))
        shown = [c for c in any_rows.values() if c.annotated]
        self._laid_out_for = self.size.width
        name_width, cells = layout(self.size.width or 80, max((len(c.name) for c in shown), default=8))
        box_style = self.get_component_rich_style("category-bars--box")
        mask_style = self.get_component_rich_style("category-bars--mask")
        muted = self.get_component_rich_style("category-bars--muted")
        group = NUMBER + 1 + cells + GAP
        text = Text(no_wrap=True, overflow="crop")
        text.append(f"{'category':<{name_width}}{'box AP':<{group}}{'mask AP':<{group}}weight\n", style=muted)
        for any_result in shown:
            name = any_result.name
            text.append(f"{name if len(name) <= name_width - GAP else name[:name_width - GAP - 1] + '…':<{name_width}}")
            for iou_type, style in (("bbox", box_style), ("segm", mask_style)):
                result: CategoryResult | None = rows.get(iou_type, {}).get(any_result.category_id)
                ap = result.ap if result else None
                text.append(f"{percent(ap):>{NUMBER}} ")
                text.append(bar(ap, cells), style=style)
                text.append(" " * GAP)
            text.append(f"{any_result.weight:.3f}" if any_result.weight else "not weighted", style=muted)
            text.append("\n")
        self.update(text)

    def on_resize(self) -> None:
        if self._by_type and self.size.width != self._laid_out_for:  # a new height alone needs no new layout
            self.show(self._by_type)
