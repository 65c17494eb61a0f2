"""`report.html`: one self-contained page of a comparison - the paper's table, per-category AP bars
per model, and the first failure cases drawn with each model's detections beside the ground truth.

Everything is inline: CSS in a <style>, bars as CSS widths, pictures as base64 JPEG. No scripts,
nothing fetched, so the file can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from pathlib import Path

from tui.catalog import category_name
from tui.evaluation.case_drawings import CaseDrawings
from tui.evaluation.failures import AnnotatedObject, FailureCases
from tui.evaluation.report import PaperTable, model_labels, paper_table, percent
from tui.evaluation.results import METRICS
from tui.evaluation.scoring import MATCHING_IOU
from tui.files import write_atomically
from tui.text import html as html_text
from tui.units import counted

PANEL_PIXELS = 320
"""Longest side of each drawn picture."""
CASES_SHOWN = 6
"""Cases per failure list."""
MODEL_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac")

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05em; margin-bottom: .2em; }
.note { color: #666; }
table.paper { border-collapse: collapse; }
table.paper th, table.paper td { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: center; white-space: nowrap; }
table.paper td:first-child, table.paper th:first-child { text-align: left; }
.best { font-weight: bold; background: #fff2a8; }
.bars { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1em 2em; }
.category h3 { margin: 0; } .category .weight { color: #777; font-weight: normal; }
.bar-row { display: grid; grid-template-columns: 9em 1fr 3.2em 1fr 3.2em; align-items: center; gap: .4em; font-size: 12px; }
.track { background: #eee; height: .8em; } .fill { height: 100%; } .mask .fill { opacity: .55; }
.legend span { display: inline-block; margin-right: 1em; }
.legend i { display: inline-block; width: 1em; height: .8em; margin-right: .3em; vertical-align: middle; }
.panels { display: flex; flex-wrap: wrap; gap: .6em; }
figure { margin: 0; border: 3px solid #bbb; } figure.found { border-color: #3a3; } figure.missed, figure.fp { border-color: #d33; }
figure { display: table; } figure img { display: block; }
figcaption { display: table-caption; caption-side: bottom; font-size: 12px; padding: .2em .4em; }
"""


def _e(text) -> str:
    """Every text of the page goes through here: tui.text.html, control characters shown, HTML escaped."""
    return html_text(text)


def _table_html(table: PaperTable) -> str:
    head = "".join(f"<th>{_e(heading)}</th>" for _, heading in METRICS)
    rows = []
    for row in table.rows:
        cells = []
        for metric in range(len(METRICS)):
            halves = [f'<span class="best">{percent(row.cells[metric][h])}</span>' if table.is_best(row, metric, h)
                      else percent(row.cells[metric][h]) for h in (0, 1)]
            cells.append(f"<td>{halves[0]} | {halves[1]}</td>")
        rows.append(f"<tr><td>{_e(row.label)}</td>{''.join(cells)}</tr>")
    return (f'<table class="paper"><thead><tr><th>model</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            '<p class="note">box | mask, %, weighted over the 22 categories the paper weights'
            + ('; highlighted: best in its column.</p>' if table.has_best else '.</p>'))


def _bar(value: float | None, colour: str, kind: str) -> str:
    width = 0.0 if value is None else max(0.0, min(1.0, value)) * 100
    return (f'<div class="track {kind}"><div class="fill" style="width:{width:.1f}%;background:{colour}"></div></div>'
            f"<span>{percent(value)}</span>")


def _bars_html(compared: dict) -> str:
    entries = compared["models"]
    labels = model_labels([(e.get("model", ""), e["file"]) for e in entries])
    colours = [MODEL_COLOURS[i % len(MODEL_COLOURS)] for i in range(len(entries))]
    ap: dict[int, dict[str, dict[int, float | None]]] = {}  # category -> iou type -> model index -> AP
    weights: dict[int, float] = {}
    for index, entry in enumerate(entries):
        for result in entry["results"]:
            for category in result.get("per_category", []):
                ap.setdefault(category["category_id"], {}).setdefault(result["iou_type"], {})[index] = category["ap"]
                weights[category["category_id"]] = category["weight"]
    blocks = []
    for category_id in sorted(ap):
        by_type = ap[category_id]
        if all(v is None for values in by_type.values() for v in values.values()):
            continue  # nothing of this category is annotated
        weight = f"weight {weights[category_id]:.3f}" if weights[category_id] else "not weighted"
        rows = "".join(
            f'<div class="bar-row"><span>{_e(label)}</span>'
            f'{_bar(by_type.get("bbox", {}).get(i), colours[i], "box")}{_bar(by_type.get("segm", {}).get(i), colours[i], "mask")}</div>'
            for i, label in enumerate(labels))
        blocks.append(f'<div class="category"><h3>{_e(category_name(category_id))} '
                      f'<span class="weight">{category_id} · {weight}</span></h3>{rows}</div>')
    legend = "".join(f'<span><i style="background:{c}"></i>{_e(label)}</span>' for label, c in zip(labels, colours))
    return (f'<p class="legend">{legend}</p><p class="note">AP over IoU .50:.95 per category: left bar boxes, '
            f'right (lighter) bar masks; – where that IoU type was not evaluated.</p><div class="bars">{"".join(blocks)}</div>')


class _Pictures:
    """Drawn panels for the failure cases, as data URIs; each panel drawn once."""

    def __init__(self, cases: FailureCases, images: Path | None):
        self.cases = cases
        self.drawings = CaseDrawings(cases, [images] if images else [], max_size=PANEL_PIXELS)
        self._drawn: dict[tuple[str, str], str] = {}

    @property
    def missing(self) -> set[str]:
        return self.drawings.missing

    def has_entry(self, label: str, name: str) -> bool:
        return self.drawings.has_entry(label, name)

    def panel(self, name: str, label: str | None) -> str:
        """The image with the ground truth (label None) or with the model's detections that took part."""
        key = (name, label or "")
        if key not in self._drawn:
            buffer = io.BytesIO()
            self.drawings.draw(name, label).save(buffer, format="JPEG", quality=82)
            self._drawn[key] = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        return self._drawn[key]


def _figure(pictures: _Pictures, name: str, label: str | None, state: str, caption: str) -> str:
    alt = f"{name}: {'ground truth' if label is None else label}"
    if label is not None and not pictures.has_entry(label, name):
        caption += " (no predictions for this image)"
    return (f'<figure class="{state}"><img alt="{_e(alt)}" src="{pictures.panel(name, label)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _object_case(pictures: _Pictures, obj: AnnotatedObject) -> str:
    x, y, width, height = obj.bbox
    box = f"at x {x:g}, y {y:g}, {width:g}×{height:g} px"
    figures = [_figure(pictures, obj.image, None, "truth", "ground truth")]
    for label in pictures.cases.labels:
        state = "found" if label in obj.found_by else "missed"
        figures.append(_figure(pictures, obj.image, label, state, f"{label}: {state}"))
    return (f'<section class="case"><h3>{_e(obj.image)} · {_e(obj.category)} {box}</h3>'
            f'<div class="panels">{"".join(figures)}</div></section>')


def _false_positive_cases(pictures: _Pictures) -> Iterable[str]:
    cases = pictures.cases
    for label, images in cases.false_positives.items():
        if not images:
            continue
        worst = images[0]
        kinds = worst.kinds()
        figures = [_figure(pictures, worst.image, None, "truth", "ground truth")]
        figures += [_figure(pictures, worst.image, other, "fp" if other == label else "",
                            f"{other}: {worst.count} false positive(s)" if other == label else other)
                    for other in cases.labels]
        yield (f'<section class="case"><h3>{_e(label)}: {worst.count} false positive(s) on {_e(worst.image)} '
               f'({_e(kinds)})</h3><div class="panels">{"".join(figures)}</div></section>')


def _failures_html(cases: FailureCases, images: Path | None, shown: int) -> str:
    pictures = _Pictures(cases, images)
    missed, disagreements = cases.missed_by_all, cases.disagreements
    parts = [f'<p class="note">{counted(len(cases.objects), "object")}; {"boxes" if cases.iou_type == "bbox" else "masks"} '
             f"matched at IoU {MATCHING_IOU:g}; detections scoring at least {cases.min_score:g} drawn and counted. "
             "Green frame: the model found the object; red: it missed it, or (last list) saw what is not there.</p>",
             f"<h3>Missed by every model ({len(missed)}; first {min(shown, len(missed))})</h3>",
             *(_object_case(pictures, obj) for obj in missed[:shown])]
    if len(cases.models) > 1:
        parts += [f"<h3>Found by some models, missed by others ({len(disagreements)}; "
                  f"first {min(shown, len(disagreements))})</h3>",
                  *(_object_case(pictures, obj) for obj in disagreements[:shown])]
    parts += ["<h3>The image with the most false positives, per model</h3>", *_false_positive_cases(pictures)]
    if pictures.missing:
        where = f"in {images}" if images else "(no image folder given)"
        parts.insert(0, f'<p class="note">{len(pictures.missing)} image(s) not found {_e(where)}: drawn on grey.</p>')
    return "".join(parts)


def render_report(compared: dict, cases: FailureCases | None = None, *, images: Path | None = None,
                  shown: int = CASES_SHOWN, title: str = "FashionFail: models compared") -> str:
    """The page for a comparison dict (see tui.evaluation.report.comparison) and, when given, its failure cases."""
    sections = [f"<h1>{_e(title)}</h1>",
                f'<p class="note">Annotations: {_e(compared["annotations"])}; models: {len(compared["models"])}.</p>',
                "<h2>The paper's table</h2>", _table_html(paper_table(compared)),
                "<h2>AP per category</h2>", _bars_html(compared)]
    if cases is not None:
        sections += ["<h2>Failure cases</h2>", _failures_html(cases, images, shown)]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n")


def write_report(path: Path, compared: dict, cases: FailureCases | None = None, *, images: Path | None = None,
                 shown: int = CASES_SHOWN) -> Path:
    """render_report written atomically to `path`, its folder made if need be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, render_report(compared, cases, images=images, shown=shown))
    return path
