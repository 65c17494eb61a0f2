"""Which models a comparison runs: the chosen ones that are ready, each output reused when a finished
one for the same images and settings is already there, the others skipped with what fixes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui import catalog
from tui.catalog import Model
from tui.comparison.outputs import finished_output
from tui.config import Config
from tui.errors import UserError
from tui.runs.checks import check_request, prepare_output_folder, replaced_result, require_images
from tui.runs.request import RunRequest
from tui.setup.diagnosis import Gap, diagnose

SELECTIONS = ("all", "ready")
"""`--models all` lists the models that are not ready; `ready` quietly leaves them out."""


def chosen_models(spec: str) -> tuple[list[Model], bool]:
    """The models `--models` names, in order, and whether those not ready are listed (all, names) or
    quietly dropped (ready). UserError for an unknown name or an empty list."""
    spec = spec.strip()
    if spec in SELECTIONS:
        return list(catalog.MODELS), spec == "all"
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise UserError(f"--models needs all, ready or model names separated by commas, not {spec!r}")
    models = list({model.name: model for model in map(catalog.get, names)}.values())
    return models, True


@dataclass(frozen=True)
class Skipped:
    """A chosen model that does not run, and what fixes it."""

    model: str
    gaps: tuple[Gap, ...]

    def reason(self) -> str:
        """What is missing and the commands that fix it, each once, on one line."""
        what = ", ".join(gap.what for gap in self.gaps)
        fixes = ", then ".join(dict.fromkeys(gap.fix for gap in self.gaps if gap.fix))
        return f"needs {what}; fix: {fixes}" if fixes else what

    def as_json(self) -> dict:
        return {"model": self.model, "missing": [{"what": g.what, "fix": g.fix} for g in self.gaps]}


@dataclass(frozen=True)
class Plan:
    images: Path
    out_dir: Path
    requests: tuple[RunRequest, ...]
    """The models that take part, in order: each runs, or its finished output is reused."""
    reused: frozenset[str]
    """Names of the models whose finished output is already in out_dir."""
    skipped: tuple[Skipped, ...]
    """Chosen models that are not ready (listed to the user); models dropped by `ready` are not here."""
    replaces: tuple[str, ...] = ()
    """One line per output of another run (other images, another model file) that running would
    replace: the CLI refuses without --overwrite, the app asks."""

    @property
    def models(self) -> list[str]:
        return [request.model.name for request in self.requests]

    def as_json(self) -> dict:
        """The `queue` event of `compare --json`."""
        return {"event": "queue", "images": str(self.images), "out": str(self.out_dir),
                "models": [{"model": r.model.name, "output": str(r.output),
                            "state": "reuse" if r.model.name in self.reused else "run"} for r in self.requests],
                "skipped": [s.as_json() for s in self.skipped]}


def check_folders(images: Path, out_dir: Path) -> None:
    """UserError unless the image folder has images and the output folder can be written."""
    require_images(images)
    prepare_output_folder(out_dir)


def make_plan(models: Sequence[Model], images: Path, out_dir: Path, config: Config,
              list_unready: bool = True) -> Plan:
    """Sort the models into run, reuse and skip. A model is ready when `diagnose` finds no gap and
    `check_request` (the model file is a model, the folders are right) passes."""
    check_folders(images, out_dir)
    requests, reused, skipped, replaces = [], set(), [], []
    for model in models:
        diagnosis = diagnose(model, config)
        if not diagnosis.ready:
            if list_unready:
                skipped.append(Skipped(model.name, diagnosis.gaps))
            continue
        request = RunRequest(model, images, out_dir, device=config.device)
        try:
            check_request(request, config)
        except UserError as exc:
            skipped.append(Skipped(model.name, (Gap(str(exc), ""),)))
            continue
        requests.append(request)
        if finished_output(request, config):
            reused.add(model.name)
        elif replaced := replaced_result(request, config):
            replaces.append(replaced)
    return Plan(images, out_dir, tuple(requests), frozenset(reused), tuple(skipped), tuple(replaces))


def nothing_to_run(plan: Plan) -> str:
    """The one line saying why no model can run (the plan has no requests)."""
    if not plan.skipped:
        return "no model is ready to run; `fashionfail-tui doctor` says what each needs"
    return "no chosen model can run: " + "; ".join(f"{s.model} {s.reason()}" for s in plan.skipped)
