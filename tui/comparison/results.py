"""After the queue: every finished output evaluated the paper's way, written as `comparison.json`
(the paper's table's numbers, `eval --json`'s objects, what produced them) and `report.html` (with
failure cases). A model whose output cannot be evaluated is listed in `failed` with its fix; the
others are still compared."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tui.config import Config
from tui.errors import UserError
from tui.evaluation import IOU_TYPES
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.failures import FailureCases, find_failures, load_models
from tui.evaluation.report import PaperTable, comparison, paper_table
from tui.evaluation.report_html import write_report
from tui.files import json_text, write_atomically
from tui.predictions.formats import FAMILY_CHOICES

COMPARISON_FILE = "comparison.json"
REPORT_FILE = "report.html"

Stage = Callable[[str], None]
"""on_stage(what is being done, in words)."""


@dataclass(frozen=True)
class WrittenComparison:
    data: dict
    """What comparison.json holds: {"annotations", "provenance", "models": [{"model", "file", "results",
    "checkpoint", "environment", "source_tree", "output"}], "failed": [{"model", "reason"}]}."""
    table: PaperTable
    cases: FailureCases | None
    """None when no output could be evaluated."""
    json_file: Path
    report_file: Path

    @property
    def failed(self) -> list[dict]:
        return self.data["failed"]

    def as_json(self) -> dict:
        """The final `comparison` event of `compare --json`."""
        return {"event": "comparison", **self.data, "comparison_file": str(self.json_file),
                "report_file": str(self.report_file)}


def run_failure(model: str, message: str) -> dict:
    """A model whose run failed, as `failed` lists it."""
    return {"model": model, "reason": f"{message}; fix: see the reason, then rerun the same command "
                                      "(finished outputs are reused)"}


def evaluation_failure(model: str, exc: UserError) -> dict:
    """A model whose output could not be evaluated, as `failed` lists it, with the fix for `compare`."""
    if exc.hint and "--family" in exc.hint:  # the file's classes do not fit the model's numbering
        fix = (f"rerun the same command with --family {model}=FAMILY, FAMILY one of {', '.join(FAMILY_CHOICES)} "
               "(the outputs are reused)")
    else:
        fix = exc.hint or "see the reason, then rerun the same command (finished outputs are reused)"
    return {"model": model, "reason": f"{exc}; fix: {fix}"}


def write_comparison(finished: Sequence[tuple[str, Path]], evaluator: Evaluator, images: Path, out_dir: Path,
                     config: Config, *, failed: Sequence[dict] = (), families: Mapping[str, str] | None = None,
                     on_stage: Stage | None = None) -> WrittenComparison:
    """Evaluate each (model, output) (boxes, and masks when the annotations have them), read as
    `families[model]` when given, find the failure cases across them, and write both files into out_dir.
    A model whose output cannot be evaluated joins `failed` (e.g. `run_failure`s); UserError only when a
    file cannot be written."""
    from tui.comparison.provenance import comparison_provenance, images_record, model_provenance
    from tui.comparison.published import published_numbers

    say = on_stage or (lambda text: None)
    families = families or {}
    truth = evaluator.truth
    iou_types = IOU_TYPES if truth.has_masks else ("bbox",)
    evaluations, evaluated, failed = [], [], list(failed)
    for model, output in finished:
        try:
            evaluations += evaluator.evaluate(output, iou_types, family=families.get(model),
                                              on_progress=lambda f, stage, o=output: say(f"{o.name}: {stage} {f:.0%}"))
        except UserError as exc:
            failed.append(evaluation_failure(model, exc))
            continue
        evaluated.append((model, output))
    data = comparison(evaluator.annotations, evaluations)
    say("recording what produced them")
    data["provenance"] = comparison_provenance(evaluator.annotations, images_record(images))
    by_file = {str(output): model for model, output in evaluated}
    for entry in data["models"]:
        model = entry["model"] = by_file[entry["file"]]  # the model that ran, whatever family it is read as
        if model in families:
            entry["family"] = families[model]
        entry.update(model_provenance(model, Path(entry["file"]), config))
    data["failed"] = failed
    if published := published_numbers(data):
        data["published"] = published
    json_file, report_file = Path(out_dir) / COMPARISON_FILE, Path(out_dir) / REPORT_FILE
    with _writing(json_file):
        write_atomically(json_file, json_text(data, indent=1) + "\n")
    cases = None
    if evaluated:
        say("finding failure cases")
        cases = find_failures(load_models([output for _, output in evaluated],
                                          families=[families.get(model) for model, _ in evaluated]), truth)
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
