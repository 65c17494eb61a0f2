"""The paper's published numbers beside the reproduced ones, when a comparison ran on FashionFail-test
exactly: the images as `dataset fetch --split test` put them (every one verified, and the same image
digest) and its ff_test.json as the annotations (the same sha256).

A model is *reproduced* when all ten of its numbers (five metrics, box and mask) round to the
paper's, at the paper's one decimal.
"""

from __future__ import annotations

from pathlib import Path

from tui import catalog, paths
from tui.comparison.provenance import images_record
from tui.dataset.status import split_state
from tui.evaluation.results import IOU_TYPES, METRICS
from tui.files import sha256_of

DATASET = "FashionFail-test"


def is_fashionfail_test(provenance: dict) -> bool:
    """Whether the comparison's annotations are the cache's ff_test.json and its images the cache's
    verified FashionFail-test images (by the image digest)."""
    annotations = paths.fashionfail_annotations("test")
    state = split_state("test")
    if not (state.complete and annotations.is_file()):
        return False
    if provenance["annotations"]["sha256"] != sha256_of(annotations):
        return False
    images = provenance["images"]
    if Path(images["folder"]) == state.images_dir.resolve():
        return True  # the very folder `dataset fetch` verified (its digest was just computed)
    return images["digest"] == images_record(state.images_dir)["digest"]


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def published_numbers(data: dict) -> dict | None:
    """`published` for comparison.json: per model with published numbers, the paper's, ours and the
    difference (ours - paper's, percent points at one decimal) per IoU type and metric, and whether
    it is reproduced; None unless the comparison ran on FashionFail-test (is_fashionfail_test)."""
    if not data.get("provenance") or not is_fashionfail_test(data["provenance"]):
        return None
    models = []
    for entry in data["models"]:
        paper = catalog.PUBLISHED.get(entry["model"])
        if paper is None:
            continue
        by_type = {r["iou_type"]: r for r in entry["results"]}
        rows = {}
        for iou_type in IOU_TYPES:
            ours = by_type.get(iou_type)
            rows[iou_type] = {
                key: {"paper": paper[iou_type][m], "reproduced": _percent(ours[key]) if ours else None,
                      "difference": round(_percent(ours[key]) - paper[iou_type][m], 1) if ours else None}
                for m, (key, _) in enumerate(METRICS)}
        agree = all(cell["difference"] == 0 for row in rows.values() for cell in row.values())
        models.append({"model": entry["model"], **rows, "reproduced": agree})
    return {"dataset": DATASET, "models": models}


def published_text(published: dict) -> str:
    """The paper's numbers and the differences, as text under the paper's table."""
    header = ["model", *(heading for _, heading in METRICS)]
    lines = []
    for model in published["models"]:
        def cells(field: str, signed: bool = False) -> list[str]:
            return [" | ".join("–" if model[t][key][field] is None else
                               f"{model[t][key][field]:+.1f}" if signed else f"{model[t][key][field]:.1f}"
                               for t in IOU_TYPES) for key, _ in METRICS]
        lines.append([f"{model['model']} (paper)", *cells("paper")])
        lines.append(["  difference", *cells("difference", signed=True)])
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    text = [f"the paper's numbers on {published['dataset']} (box | mask, %), and ours minus the paper's:"]
    text += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *lines]]
    verdicts = [f"{m['model']}: {'reproduced' if m['reproduced'] else 'not reproduced'}" for m in published["models"]]
    text.append("; ".join(verdicts) + " (reproduced: all ten numbers equal at the paper's one decimal)")
    return "\n".join(text)
