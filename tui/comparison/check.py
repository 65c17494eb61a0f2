"""`compare --check`: is a comparison.json still what its files give? Every recorded output's sha256
is checked, then every output is evaluated again (never from the cache) against the recorded
annotation file and each of the paper's numbers compared with the recorded one, exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui import outside_json
from tui.errors import UserError
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.results import METRICS
from tui.files import sha256_of
from tui.predictions.formats import FAMILY_CHOICES

HALVES = {"bbox": "box", "segm": "mask"}


@dataclass
class CheckOutcome:
    models: int = 0
    numbers: int = 0
    """Numbers compared."""
    changed_files: list[str] = field(default_factory=list)
    """Outputs (and the annotation file) whose sha256 is not the recorded one, or that are gone."""
    differences: list[str] = field(default_factory=list)
    """`facere: mAP_w@.50 (box) was 0.2752, now 0.2761`, one per number that differs."""

    @property
    def reproduced(self) -> bool:
        return not self.changed_files and not self.differences

    def lines(self) -> list[str]:
        """What differs, changed files first."""
        return self.changed_files + self.differences

    def as_json(self) -> dict:
        return {"event": "check", "reproduced": self.reproduced, "models": self.models, "numbers": self.numbers,
                "changed_files": self.changed_files, "differences": self.differences}


def read_comparison(path: Path) -> dict:
    try:
        data = outside_json.read(Path(path), outside_json.RECORD_MAX_BYTES)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (OSError, outside_json.BadJson) as exc:
        raise UserError(f"{path} cannot be read as JSON ({exc})") from None
    if not (isinstance(data, dict) and isinstance(data.get("models"), list) and isinstance(data.get("annotations"), str)
            and all(isinstance(m, dict) and isinstance(m.get("model"), str) and isinstance(m.get("results"), list)
                    for m in data["models"])):
        raise UserError(f"{path} is not a comparison.json written by `fashionfail-tui compare`")
    return data


def _text(record, key: str) -> str | None:
    """record[key] when record is an object and that is a non-empty string (comparison.json comes from outside)."""
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None


def _same_file(label: str, path: Path, recorded: str | None) -> str | None:
    """Why the file is not the recorded one; None when its sha256 matches (or none was recorded)."""
    if not path.is_file():
        return f"{label}: {path} is gone"
    if recorded is None:
        return None
    try:
        got = sha256_of(path)
    except OSError as exc:
        return f"{label}: {path} cannot be read ({exc.strerror or exc})"
    return None if got == recorded else f"{label}: {path} changed: sha256 {got}, recorded {recorded}"


def check_comparison(path: Path, on_stage: Callable[[str], None] | None = None) -> CheckOutcome:
    """Check one comparison.json; UserError when it cannot be read or its annotation file is unusable."""
    say = on_stage or (lambda text: None)
    data = read_comparison(path)
    outcome = CheckOutcome(models=len(data["models"]))
    provenance = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    annotations = provenance.get("annotations")
    annotations_path = Path(_text(annotations, "path") or data["annotations"])
    changed = _same_file("annotations", annotations_path, _text(annotations, "sha256"))
    if changed:
        outcome.changed_files.append(changed)
        if not annotations_path.is_file():
            return outcome
    evaluator = Evaluator(annotations_path)
    present = []
    for entry in data["models"]:
        output = entry.get("output")
        file = Path(_text(output, "path") or _text(entry, "file") or "")
        changed = _same_file(entry["model"], file, _text(output, "sha256"))
        if changed:
            outcome.changed_files.append(changed)
        if file.is_file():
            present.append((entry, file))
    for entry, file in present:
        recorded = {r.get("iou_type"): r for r in entry["results"] if isinstance(r, dict)}
        say(f"evaluating {entry['model']} again")
        family = entry.get("family")
        if family is not None and family not in FAMILY_CHOICES:
            outcome.differences.append(f"{entry['model']}: the recorded family {family!r} is not one of "
                                       f"{', '.join(FAMILY_CHOICES)}")
            continue
        try:
            again = evaluator.evaluate(file, [t for t in recorded if t in HALVES], family=family, use_cache=False)
        except UserError as exc:
            outcome.differences.append(f"{entry['model']}: cannot be evaluated again: {exc}")
            continue
        for evaluation in again:
            before = recorded[evaluation.iou_type]
            for key, heading in METRICS:
                outcome.numbers += 1
                if before.get(key) != evaluation.metric(key):
                    outcome.differences.append(f"{entry['model']}: {heading} ({HALVES[evaluation.iou_type]}) was "
                                               f"{before.get(key)}, now {evaluation.metric(key)}")
    return outcome
