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


class CategoryBars(Static):
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

    def show(self, by_type: dict[str, Evaluation]) -> None:
        if not by_type:
            self.update("Select a model to see its AP per category.")
            return
        rows = {t: {c.category_id: c for c in e.per_category} for t, e in by_type.items()}
        any_rows = next(iter(rows.values()))
        box_style = self.get_component_rich_style("category-bars--box")
        mask_style = self.get_component_rich_style("category-bars--mask")
        muted = self.get_component_rich_style("category-bars--muted")
        text = Text()
        text.append(f"{'category':<24}{'box AP':<{BAR_CELLS + 7}}{'mask AP':<{BAR_CELLS + 7}}weight\n", style=muted)
        for category_id, any_result in any_rows.items():
            if not any_result.annotated:
                continue
            text.append(f"{any_result.name[:22]:<24}")
            for iou_type, style in (("bbox", box_style), ("segm", mask_style)):
                result: CategoryResult | None = rows.get(iou_type, {}).get(category_id)
                ap = result.ap if result else None
                text.append(bar(ap), style=style)
                text.append(f" {percent(ap):>5}  ")
            text.append(f"{any_result.weight:.3f}" if any_result.weight else "not weighted", style=muted)
            text.append("\n")
        self.update(text)
