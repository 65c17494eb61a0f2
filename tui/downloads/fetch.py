"""Getting a model's files into the cache: download (and unpack), import by hand, verify, delete.

Hash policy for a download, first that applies: the config's `[models.X] sha256`, the catalog's
sha256, the server's `X-Linked-Etag` (Hugging Face LFS), the size and sha256 recorded in the
manifest for the first complete download of that file.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

from tui.catalog import Model
from tui.config import Config
from tui.downloads import archives, manifest, manual_import
from tui.downloads.files import remove_quietly
from tui.downloads.http import HostNotFound, Policy, download
from tui.downloads.locks import is_locked, locked
from tui.downloads.progress import Meter, ProgressCallback, ignore
from tui.downloads.sources import ensure_source, resolve
from tui.downloads.state import (ModelFiles, checkpoint_file, download_target, model_files_state, unpacked_files,
                                 unpacked_folder)
from tui.downloads.validation import validate_model_file
from tui.errors import UserError
from tui.files import sha256_of


class CheckpointNeeded(UserError):
    """Everything a model needs is in place except a checkpoint the user must download by hand
    and import: not a failure of the fetch, so its exit status is 1, as for "not ready"."""

    exit_code = 1


def manual_instructions(model: Model) -> str:
    """Where to get a checkpoint that has no direct download; `import_hint` says how the CLI imports it."""
    return f"{model.name} has no direct download: get {model.weights.filename} from {model.weights.manual_from}"


def offline_route(model_name: str = "MODEL") -> str:
    """How a checkpoint gets in without this machine reaching its host."""
    return (f"download the file elsewhere and import it: fashionfail-tui fetch {model_name} --from FILE, "
            "or i on the Models screen")


def import_hint(model: Model) -> str:
    return f"then import it with: fashionfail-tui fetch {model.name} --from PATH/{model.weights.filename}"


def _checkpoint_needed(model: Model, config: Config, on_progress: ProgressCallback) -> CheckpointNeeded:
    """Clone the source tree of a model whose checkpoint must be imported by hand, then say what is
    left; a UserError naming both when the clone fails."""
    if model.source is None:
        return CheckpointNeeded(manual_instructions(model), hint=import_hint(model))
    try:
        tree = ensure_source(resolve(model.source, config), on_progress)
    except UserError as exc:
        raise UserError(f"{exc}; the checkpoint is still needed too: {manual_instructions(model)}",
                        hint=import_hint(model)) from None
    return CheckpointNeeded(f"source tree {model.source.name} is ready at {tree}; still needed: "
                            f"{manual_instructions(model)}", hint=import_hint(model))


def fetch_model(model: Model, config: Config, on_progress: ProgressCallback | None = None,
                source_file: Path | None = None, policy: Policy = Policy()) -> Path:
    """Make the model's checkpoint (and source tree) present and verified; return the checkpoint path
    the runner is given (for a tarball, the `.../model.ckpt` prefix). `source_file` imports a file
    the user downloaded instead of fetching; a manual model not yet in the cache gets its source
    tree, then CheckpointNeeded (a UserError) saying how to import the checkpoint."""
    on_progress = on_progress or ignore
    override = config.override_for(model.name)
    if source_file is not None:
        import_model(model, source_file, on_progress)
    elif override.file:
        if not override.file.exists():
            raise UserError(f"the config's file for {model.name} does not exist: {override.file}")
    else:
        state = model_files_state(model, config)
        if not state.usable:
            if model.weights.kind == "manual":
                raise _checkpoint_needed(model, config, on_progress)
            _download(model, config, state, on_progress, policy)
    if model.source:
        ensure_source(resolve(model.source, config), on_progress)
    return checkpoint_file(model, config)


def _download(model: Model, config: Config, state: ModelFiles, on_progress: ProgressCallback,
              policy: Policy) -> None:
    if model.weights.kind == "tar":
        # download and unpack as one step, so a second process waits for the unpacked folder
        with locked(unpacked_folder(model)):
            if not model_files_state(model, config).usable:
                _download_file(model, config, on_progress, policy)
                _unpack(model, download_target(model), config.override_for(model.name).url or model.weights.url,
                        on_progress)
                remove_quietly(download_target(model))  # the manifest keeps its hash for a later re-download
        return
    if state.state == "corrupt":
        remove_quietly(download_target(model))
    _download_file(model, config, on_progress, policy)


def _download_file(model: Model, config: Config, on_progress: ProgressCallback, policy: Policy) -> None:
    """Download the model's artifact and record its hash, labelled with where the expected hash came from."""
    target = download_target(model)
    override = config.override_for(model.name)
    url = override.url or model.weights.url
    earlier = manifest.get(target)
    try:
        result = download(url, target, expected_sha256=override.sha256 or model.weights.sha256,
                          fallback_sha256=earlier.sha256 if earlier else None, policy=policy, on_progress=on_progress)
    except HostNotFound as exc:
        raise UserError(f"{exc}; offline? {offline_route(model.name)}") from None
    if override.sha256:
        source = "config"
    elif model.weights.sha256:
        source = "catalog"
    elif result.hash_source == "server":
        source = "server"
    else:  # checked against the earlier download's record, or the first download itself
        source = earlier.hash_source if earlier else "first-download"
    manifest.record(target, result.sha256, source, url=url)


def _unpack(model: Model, archive: Path, url: str | None, on_progress: ProgressCallback) -> Path:
    folder = unpacked_folder(model)
    archives.unpack(archive, folder, model.weights.expected_files, on_progress)
    for path in unpacked_files(model):
        manifest.record(path, sha256_of(path), "archive", url=url)
    return folder


def import_model(model: Model, source_file: Path, on_progress: ProgressCallback = ignore) -> Path:
    """Copy a hand-downloaded checkpoint into the cache after checking it is one; record its hash."""
    source_file = source_file.expanduser()
    if model.weights.kind == "tar":  # an air-gapped copy of the tarball: the same checks as a download
        with locked(unpacked_folder(model)):
            return _unpack(model, source_file, url=None, on_progress=on_progress)
    target = download_target(model)
    check = manual_import.checkpoint_format
    if model.weights.kind == "file":  # Facere's ONNX files: checked the way `run --model-file` checks them
        check = partial(validate_model_file, model)
    digest = manual_import.import_file(source_file, target, on_progress, check)
    manifest.record(target, digest, "import")
    return target


def verify_model(model: Model, config: Config, on_progress: ProgressCallback | None = None) -> ModelFiles:
    """Hash every present file and compare with what is expected (config, catalog, manifest).

    A file with no recorded hash gets this one recorded; a mismatch is recorded as corrupt.
    """
    on_progress = on_progress or ignore
    override = config.override_for(model.name)
    pinned = (override.sha256 or model.weights.sha256) if model.weights.kind != "tar" else None
    for file in model_files_state(model, config).files:
        if file.state in ("missing", "partial", "downloading", "external"):
            continue
        meter = Meter("verify", file.name, on_progress, total=file.size)
        digest = sha256_of(file.path, meter.advance)
        expected = pinned or file.sha256
        source = ("config" if override.sha256 else "catalog") if pinned else file.hash_source or "first-download"
        manifest.record(file.path, expected or digest, source, verified=not expected or digest == expected)
    return model_files_state(model, config)


def delete_model(model: Model) -> list[Path]:
    """Remove the model's files and partial downloads from the cache; return what was removed.

    Source trees stay: both models of a family share one.
    """
    target = download_target(model)
    if is_locked(target):
        raise UserError(f"{model.weights.filename} is being downloaded right now; try again when it is done")
    removed = []
    candidates = [target, target.with_name(target.name + ".part"), target.with_name(target.name + ".part.json")]
    if model.weights.kind == "tar":
        candidates.append(unpacked_folder(model))
    for path in candidates:
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(path)
        elif path.exists():
            path.unlink()
            removed.append(path)
    if model.weights.kind == "tar":
        manifest.forget(model.weights.unpacks_to)
    return removed
