"""The failure gallery's cases as a screen lists them: for each, the image, a title, and what each
model's panel says. No Textual here; the gallery screen draws the panels (tui.evaluation.case_drawings)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tui.evaluation.failures import AnnotatedObject, FailureCases

KINDS = (("missed_by_all", "Missed by all models"), ("disagreements", "Some found, some missed"),
         ("false_positives", "Most false positives"))
FALSE_POSITIVE_IMAGES = 10
"""Images listed per model under false positives."""


@dataclass(frozen=True)
class GalleryCase:
    image: str
    summary: str
    """What the case is, without the image name: `pants at x 20, y 20, 60×60 px`."""
    panels: tuple[tuple[str, str], ...]
    """(model label, caption) for each model's panel, in the cases' model order."""
    ground_truth: str
    """The ground-truth panel's caption."""


def _object_case(cases: FailureCases, obj: AnnotatedObject, objects: Counter) -> GalleryCase:
    x, y, width, height = obj.bbox
    panels = tuple((label, f"{label}: {'found' if label in obj.found_by else 'missed'} it") for label in cases.labels)
    return GalleryCase(obj.image, f"{obj.category} at x {x:g}, y {y:g}, {width:g}×{height:g} px", panels,
                       f"ground truth: {objects[obj.image]} object(s)")


def _false_positive_cases(cases: FailureCases, objects: Counter) -> list[GalleryCase]:
    found = []
    for label, images in cases.false_positives.items():
        for image in images[:FALSE_POSITIVE_IMAGES]:
            panels = tuple((other, f"{other}: {image.count} false positive(s)" if other == label else other)
                           for other in cases.labels)
            found.append(GalleryCase(image.image, f"{label}: {image.count} false positive(s) ({image.kinds()})", panels,
                                     f"ground truth: {objects[image.image]} object(s)"))
    return found


def gallery_cases(cases: FailureCases, kind: str) -> list[GalleryCase]:
    """The cases of one of KINDS, in the order `failures` lists them."""
    objects = Counter(o.image for o in cases.objects)
    if kind == "false_positives":
        return _false_positive_cases(cases, objects)
    listed = cases.missed_by_all if kind == "missed_by_all" else cases.disagreements
    return [_object_case(cases, obj, objects) for obj in listed]
