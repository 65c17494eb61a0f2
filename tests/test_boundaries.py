"""The boundaries are structural: a new reader of outside data cannot forget the checks, because the
raw readers are called in one module each. JSON is parsed only by `tui.outside_json` (size and depth
limits), prediction files and outputs only by `tui.predictions.safe_pickle` (the restricted reader;
numpy's own loaders nowhere), images only through `tui.image_files` (header before pixels)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ALLOWED = {
    "json.loads": {"tui/outside_json.py",
                   "tui/predictions/isolation.py"},  # the app's own forked reader reporting to its parent
    "json.load": set(),
    "np.load": set(), "numpy.load": set(), "np.fromfile": set(), "read_array": set(),
    "Image.open": {"tui/image_files.py"}, "PILImage.open": set(),
    "zipfile.ZipFile": {"tui/predictions/safe_pickle.py",  # the restricted reader
                        "tui/predictions/index.py",  # the app's own index, member headers bounded
                        "tui/downloads/manual_import.py"},  # reads only member names (torch's layout)
}


def calls_in(path: Path) -> set[str]:
    """Dotted names of everything called in `path` (`json.loads`, `np.lib.format.read_array` as
    `read_array` too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            parts, target = [], node.func
            while isinstance(target, ast.Attribute):
                parts.insert(0, target.attr)
                target = target.value
            if isinstance(target, ast.Name):
                parts.insert(0, target.id)
            found |= {".".join(parts[-2:]), parts[-1]} if parts else set()
    return found


@pytest.mark.parametrize("call", sorted(ALLOWED))
def test_raw_readers_of_outside_data_are_called_only_at_their_boundary(call):
    callers = {str(p.relative_to(ROOT)) for p in sorted((ROOT / "tui").rglob("*.py")) if call in calls_in(p)}
    assert callers <= ALLOWED[call], f"{call} called outside its boundary: {sorted(callers - ALLOWED[call])}"


def test_a_bomb_is_one_line_and_pillow_never_warns(tmp_path):
    """In a fresh interpreter, so that no earlier warning filter hides what Pillow would print."""
    from test_download_limits import png
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(13000, 13000))
    code = ("import sys\nfrom tui.image_files import ImageRefused, decoded_rgb\n"
            f"try:\n    decoded_rgb({str(bomb)!r})\nexcept ImageRefused as exc:\n    print(exc)\n")
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.stdout == "is 13000x13000 = 169,000,000 pixels, more than the 89,478,485 an image may have\n"
    assert result.stderr == ""


def test_the_limit_is_pillows_own():
    from PIL import Image

    from tui.image_files import MAX_PIXELS
    assert MAX_PIXELS == Image.MAX_IMAGE_PIXELS


def test_the_failure_gallery_draws_a_bomb_as_a_missing_image(tmp_path):
    """The gallery's drawings read images through the same door: a bomb is a grey canvas, not a decode."""
    from evaluation_data import perfect, write_annotations, write_facere_file
    from test_download_limits import png

    from tui.evaluation.case_drawings import CaseDrawings
    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.failures import find_failures, load_models
    objects = {"a.png": [(0, (10, 10, 50, 50))]}
    anns = write_annotations(tmp_path / "anns.json", objects)
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(png(13000, 13000))
    models = load_models([write_facere_file(tmp_path / "facere-ff_test.npz", perfect(objects))], "facere")
    drawings = CaseDrawings(find_failures(models, Evaluator(anns).truth), [images])
    assert drawings.image("a.png").size == (100, 100)
    assert drawings.missing == {"a.png"}
