"""A hand-made comparison of three models where it is known by construction which model finds which object.

Objects (100x100 images; boxes xyxy): a.jpg shirt A1 + pants A2, b.jpg shirt B1, c.jpg pants C1, d.jpg top D1.
- facere finds A1 (plus a near duplicate: a false positive) and A2; calls B1 a top (B1 missed, a top FP);
  puts C1's box at IoU 0.375 (missed, a pants FP); finds D1 only at score 0.3.
- fformer-swin finds A1 at IoU 0.667 and B1; misses A2, C1, D1; sees pants and a shirt on d.jpg and a shoe
  on b.jpg that are not there; a sleeve (category 31, not evaluated) counts for nothing.
- amrcnn-spine has no entry for a.jpg; finds B1 and D1; misses C1; one false positive at score 0.4 on c.jpg.
At the default score 0.5: C1 is missed by all; A1, A2, B1, D1 are disagreements.
"""

from __future__ import annotations

from pathlib import Path

from evaluation_data import predictions, write_annotations, write_runner_file

SHIRT, TOP, PANTS, SHOE, SLEEVE = 0, 1, 6, 23, 31
A1, A2, B1, C1, D1 = (10, 10, 50, 50), (55, 55, 95, 95), (10, 10, 50, 50), (20, 20, 80, 80), (10, 10, 40, 40)
OBJECTS = {
    "a.jpg": [(SHIRT, A1), (PANTS, A2)],
    "b.jpg": [(SHIRT, B1)],
    "c.jpg": [(PANTS, C1)],
    "d.jpg": [(TOP, D1)],
}
MODELS = {
    "facere": [
        predictions("a.jpg", [(SHIRT, A1, 0.9), (SHIRT, (12, 12, 52, 52), 0.7), (PANTS, A2, 0.8)]),
        predictions("b.jpg", [(TOP, B1, 0.9)]),
        predictions("c.jpg", [(PANTS, (50, 20, 100, 80), 0.85)]),
        predictions("d.jpg", [(TOP, D1, 0.3)]),
    ],
    "fformer-swin": [
        predictions("a.jpg", [(SHIRT, (18, 10, 58, 50), 0.8)]),
        predictions("b.jpg", [(SHIRT, B1, 0.95), (SHOE, (60, 80, 90, 95), 0.55)]),
        predictions("c.jpg", [(SLEEVE, (0, 0, 30, 30), 0.99)]),
        predictions("d.jpg", [(PANTS, (60, 60, 90, 90), 0.9), (SHIRT, (60, 10, 90, 40), 0.6)]),
    ],
    "amrcnn-spine": [
        predictions("b.jpg", [(SHIRT, B1, 0.6)]),
        predictions("c.jpg", [(TOP, (0, 0, 20, 20), 0.4)]),
        predictions("d.jpg", [(TOP, D1, 0.7)]),
    ],
}


def write_case(folder: Path) -> tuple[Path, list[Path]]:
    """The annotation file and one prediction file per model, in MODELS' order."""
    annotations = write_annotations(folder / "anns.json", OBJECTS)
    files = [write_runner_file(folder / f"{name}.npz", images, name) for name, images in MODELS.items()]
    return annotations, files
