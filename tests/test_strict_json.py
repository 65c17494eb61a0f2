"""JSON is written strictly: every JSON the app writes (the COCO export, `--json` output, comparison.json,
caches, records) goes through `tui.files.json_text`, which refuses NaN and infinities with one line
naming where they are, instead of writing the bare `NaN` that strict parsers refuse."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from evaluation_data import predictions, write_annotations, write_runner_file
from tui.commands import main
from tui.errors import UserError
from tui.files import json_text


def strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def non_finite(tmp_path):
    """A prediction file with a NaN score and an infinite box corner, and its annotation file."""
    anns = write_annotations(tmp_path / "anns.json", {"a.jpg": [(6, (10, 10, 50, 50))]})
    image = predictions("a.jpg", [(6, (10, 10, 50, 50), 0.9), (7, (1, 1, 5, 5), 0.5)])
    image.scores[0] = np.nan
    image.boxes[1, 2] = np.inf
    return anns, write_runner_file(tmp_path / "m.npz", [image], "facere")


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fashionfail-tui: error: ") and "Traceback" not in err, err
    return err


def test_json_text_refuses_nan_and_infinities_naming_where_they_are():
    assert strict_loads(json_text({"a": [1.5, None, "NaN"]})) == {"a": [1.5, None, "NaN"]}
    for value, where in (({"results": [{"score": math.nan}]}, "results[0].score is NaN"),
                         ([1, [2, math.inf]], "[1][1] is Infinity"),
                         ({"x": {"y": -math.inf}}, "x.y is -Infinity")):
        with pytest.raises(UserError, match=re.escape(where)):
            json_text(value)


def test_a_coco_export_of_a_nan_score_is_refused_in_one_line_and_nothing_is_written(non_finite, tmp_path, capsys):
    anns, found = non_finite
    out = tmp_path / "coco.json"
    assert main(["export", str(found), "--format", "coco", "--anns", str(anns), "--out", str(out)]) == 2
    assert "detection 0 has a score that is not a number (NaN)" in one_line(capsys)  # refused where it is read
    assert not out.exists() and not list(tmp_path.glob(".coco.json*"))


def test_json_output_is_strict_or_one_line(non_finite, capsys):
    """What --json prints parses with a strict parser; where a value is not finite, the command says so in one line."""
    anns, found = non_finite
    for argv in (["inspect", str(found), "--json"], ["eval", str(found), "--anns", str(anns), "--json"],
                 ["failures", str(found), "--anns", str(anns), "--json"]):
        code = main(argv)
        captured = capsys.readouterr()
        if code == 0:
            strict_loads(captured.out)
        else:
            assert code == 2 and captured.err.count("\n") == 1 and "NaN" in captured.err, captured.err
            for line in captured.out.splitlines():
                strict_loads(line)


ALLOWED = {
    ("tui/files.py", "json_text"),                      # the one helper
    ("tui/environments/external.py", "_PROBE"),         # code text for another interpreter to run
    ("tui/predictions/formats.py", "parse_meta"),       # a read: meta normalised before json.loads
}


def test_every_json_the_app_writes_goes_through_the_one_helper():
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in sorted((root / "tui").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bjson\.dumps?\(", line):
                rel = str(path.relative_to(root))
                if not any(rel == file and marker in _context(path, number) for file, marker in ALLOWED):
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []


def _context(path: Path, number: int) -> str:
    """The line and the 12 before it (the enclosing definition's name)."""
    lines = path.read_text().splitlines()
    return "\n".join(lines[max(0, number - 13):number])
