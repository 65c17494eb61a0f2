"""After the queue: every finished output evaluated the paper's way, written as `comparison.json`
(the paper's table's numbers, `eval --json`'s objects) and `report.html` (with failure cases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tui.errors import UserError
from tui.evaluation import IOU_TYPES
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.failures import FailureCases, find_failures, load_models
from tui.evaluation.report import PaperTable, comparison, paper_table
from tui.evaluation.report_html import write_report
from tui.files import json_text, write_atomically

COMPARISON_FILE = "comparison.json"
REPORT_FILE = "report.html"

Stage = Callable[[str], None]
"""on_stage(what is being done, in words)."""


@dataclass(frozen=True)
class WrittenComparison:
    data: dict
    """What comparison.json holds: {"annotations", "models": [{"model", "file", "results"}]}."""
    table: PaperTable
    cases: FailureCases
    json_file: Path
    report_file: Path

    def as_json(self) -> dict:
        """The final `comparison` event of `compare --json`."""
        return {"event": "comparison", **self.data, "comparison_file": str(self.json_file),
                "report_file": str(self.report_file)}


def write_comparison(outputs: Sequence[Path], evaluator: Evaluator, images: Path, out_dir: Path,
                     on_stage: Stage | None = None) -> WrittenComparison:
    """Evaluate each output (boxes, and masks when the annotations have them), find the failure cases
    across them, and write both files into out_dir. UserError when an output cannot be read."""
    say = on_stage or (lambda text: None)
    truth = evaluator.truth
    iou_types = IOU_TYPES if truth.has_masks else ("bbox",)
    evaluations = []
    for output in outputs:
        evaluations += evaluator.evaluate(output, iou_types,
                                          on_progress=lambda f, stage, o=output: say(f"{o.name}: {stage} {f:.0%}"))
    data = comparison(evaluator.annotations, evaluations)
    json_file, report_file = Path(out_dir) / COMPARISON_FILE, Path(out_dir) / REPORT_FILE
    with _writing(json_file):
        write_atomically(json_file, json_text(data, indent=1) + "\n")
    say("finding failure cases")
    cases = find_failures(load_models(list(outputs)), truth)
    say("drawing the report")
    with _writing(report_file):
        write_report(report_file, data, cases, images=images)
    return WrittenComparison(data, paper_table(data), cases, json_file, report_file)


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An OSError while writing `path` as a UserError naming it."""
    try:
        yield
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
