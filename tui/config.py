"""User settings: one TOML file, every key optional; and, apart from it, what the app remembers
between starts (the last run's folders and the theme, in the state file; see the end).

The file is `config.toml` in the config dir, or whatever `FASHIONFAIL_TUI_CONFIG` names.
A missing file means defaults; a broken one is a UserError naming the file and line.

    [models.facere]              # any catalog name or alias
    url = "http://mirror.local/facere_base.onnx"   # fetch from here instead
    sha256 = "..."               # verify against this hash
    file = "/data/facere_base.onnx"                # use this local file, fetch nothing

    [sources.tpu]                # a source tree: tpu or FashionFormer
    url = "/srv/mirrors/tpu.git"                   # clone from here instead (mirror, air-gapped copy)
    commit = "85b65b6..."        # check out this commit instead of the catalog's pin

    [environments]
    backend = "auto"             # auto | embedded | conda | mamba | micromamba
    executable = "/opt/conda/bin/conda"            # which conda/mamba/micromamba to drive
    channels = ["https://mirror.local/conda-forge"]  # embedded backend: use these instead of the specs' channels
    channel_alias = "https://mirror.local/"        # embedded backend: what bare channel names resolve against
    specs = "/path/to/envs"      # read the environment specs from here instead of the bundled envs/

    [envs.amrcnn]                # what a model family (amrcnn, fformer, facere) runs in
    spec = "amrcnn-tf215"        # another spec of that family (a variant) instead of envs/amrcnn.yml
    python = "/opt/conda/envs/amrcnn/bin/python"   # or an environment you already have (wins over spec);
                                 # `fashionfail-tui env use FAMILY PYTHON|SPEC` checks it and writes this

    [run]
    device = "auto"              # auto | cpu | cuda

    [gpu]
    interval = 1.0               # seconds between samples
    history = 300                # seconds of history in the sparklines

    [dataset]
    annotations_url = "http://mirror.local/fashionfail/"   # a folder: ff_<split>.json is fetched from it
    workers = 8                  # images downloaded at once
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tui import catalog, paths
from tui.errors import UserError
from tui.files import read_small_json, replaced_atomically, write_atomically

BACKENDS = ("auto", "embedded", "conda", "mamba", "micromamba")
COMMIT_ID = re.compile(r"^[0-9a-f]{7,40}$")
"""A git commit id, full or abbreviated: the only form a source tree's `commit` may take."""
DEVICES = ("auto", "cpu", "cuda")
DATASET_KEYS = ("annotations_url", "workers")
MAX_WORKERS = 64


@dataclass(frozen=True)
class ModelOverride:
    """Where to get one model's weights instead of the catalog's host."""

    url: str | None = None
    sha256: str | None = None
    file: Path | None = None


@dataclass(frozen=True)
class SourceOverride:
    """Where to clone one source tree from instead of the catalog's URL, and which commit."""

    url: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class EnvChoice:
    """What a model family runs in instead of its own environment spec."""

    spec: str | None = None
    """Another environment spec of the family (a variant, e.g. amrcnn-tf215)."""
    python: Path | None = None
    """An interpreter the user already has (an external environment); wins over `spec`."""


@dataclass(frozen=True)
class Config:
    models: dict[str, ModelOverride] = field(default_factory=dict)
    """Per-model overrides, keyed by canonical catalog name."""
    sources: dict[str, SourceOverride] = field(default_factory=dict)
    """Per-source-tree overrides, keyed by the catalog's tree name (tpu, FashionFormer)."""
    backend: str = "auto"
    """Which environment backend builds the model environments."""
    executable: Path | None = None
    """The conda/mamba/micromamba executable to drive; found on PATH when unset."""
    channels: tuple[str, ...] = ()
    """Channels the embedded backend solves against instead of each spec's own (mirrors, tests)."""
    channel_alias: str | None = None
    """Where the embedded backend resolves bare channel names such as `conda-forge`."""
    specs_dir: Path | None = None
    """Where the environment specs are read from; the bundled `envs/` when unset."""
    envs: dict[str, EnvChoice] = field(default_factory=dict)
    """Per-family environment choices ([envs.FAMILY]), keyed by family."""
    device: str = "auto"
    """Default execution device for runs."""
    gpu_interval: float = 1.0
    """Seconds between GPU samples in the status pane."""
    gpu_history: float = 300.0
    """Seconds of utilisation history the GPU pane keeps."""
    dataset_annotations_url: str | None = None
    """The folder URL FashionFail's ff_<split>.json files are fetched from; Hugging Face's when unset."""
    dataset_workers: int = 8
    """How many dataset images are downloaded at once."""
    source: Path | None = None
    """The file these settings were read from, None for defaults."""

    def override_for(self, model_name: str) -> ModelOverride:
        return self.models.get(model_name, ModelOverride())

    def source_override_for(self, tree_name: str) -> SourceOverride:
        return self.sources.get(tree_name, SourceOverride())

    def env_choice_for(self, family: str) -> EnvChoice:
        return self.envs.get(family, EnvChoice())


def _bad(path: Path, message: str, line: int | None = None) -> UserError:
    where = f"{path}:{line}" if line else str(path)
    return UserError(f"config file {where}: {message}")


def error_at(path: Path, key: str, message: str) -> UserError:
    """A UserError naming the config file and the line that sets `key`, for a check made after loading
    (`tui.environments.load_config` checks the [envs] spec names against the spec files)."""
    try:
        line = _line_of(path.read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        line = None
    return _bad(path, message, line)


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*\[?\s*{re.escape(key)}\b", line):
            return number
    return None


def _expect(path: Path, text: str, table: dict, key: str, kind: type | tuple, choices=None):
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _bad(path, f"'{key}' has the wrong type ({type(value).__name__})", _line_of(text, key))
    if choices and value not in choices:
        raise _bad(path, f"'{key}' must be one of {', '.join(choices)}, not {value!r}", _line_of(text, key))
    return value


def _seconds(path: Path, text: str, table: dict, key: str, default: float) -> float:
    value = _expect(path, text, table, key, (int, float))
    if value is None:
        return default
    if not 0 < value < float("inf"):
        raise _bad(path, f"'{key}' must be a positive number of seconds, not {value}", _line_of(text, key))
    return float(value)


def _http_url(path: Path, text: str, table: dict, key: str) -> str | None:
    value = _expect(path, text, table, key, str)
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise _bad(path, f"'{key}' must be an http:// or https:// URL, not {value!r}", _line_of(text, key))
    return value


def _workers(path: Path, text: str, table: dict) -> int:
    value = _expect(path, text, table, "workers", int)
    if value is None:
        return 8
    if not 1 <= value <= MAX_WORKERS:
        raise _bad(path, f"'workers' must be between 1 and {MAX_WORKERS}, not {value}", _line_of(text, "workers"))
    return value


def _env_choice(path: Path, text: str, family: str, table) -> EnvChoice:
    where = _line_of(text, f"envs.{family}")
    if not isinstance(table, dict) or family not in catalog.FAMILIES:
        raise _bad(path, f"[envs.{family}] must be a table named after a model family ({', '.join(catalog.FAMILIES)})",
                   where)
    unknown = sorted(set(table) - {"spec", "python"})
    if unknown:
        raise _bad(path, f"[envs.{family}] has an unknown key '{unknown[0]}' (known: spec, python)", where)
    python = _expect(path, text, table, "python", str)
    if python is not None and not Path(python).expanduser().is_absolute():
        raise _bad(path, f"[envs.{family}] python must be an absolute path, not {python!r}", _line_of(text, "python"))
    return EnvChoice(spec=_expect(path, text, table, "spec", str) or None,
                     python=Path(python).expanduser() if python else None)


def load(path: Path | None = None) -> Config:
    """Read the config file; defaults when it does not exist."""
    path = path or paths.config_file()
    if not path.exists():
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise _bad(path, message, int(match.group(1)) if match else None) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"cannot be read ({exc})") from None

    known = {"models", "sources", "environments", "envs", "run", "gpu", "dataset"}
    for key in data:
        if key not in known:
            raise _bad(path, f"unknown section or key '{key}'", _line_of(text, key))
        if not isinstance(data[key], dict):
            raise _bad(path, f"'{key}' must be a table ([{key}] or [{key}.NAME])", _line_of(text, key))

    models: dict[str, ModelOverride] = {}
    for name, table in data.get("models", {}).items():
        if not isinstance(table, dict):
            raise _bad(path, f"[models.{name}] must be a table", _line_of(text, f"models.{name}"))
        try:
            canonical = catalog.get(name).name
        except UserError:
            raise _bad(path, f"unknown model '{name}' in [models.{name}]", _line_of(text, f"models.{name}")) from None
        file_value = _expect(path, text, table, "file", str)
        models[canonical] = ModelOverride(
            url=_http_url(path, text, table, "url"),  # checkpoints come over HTTP
            sha256=(_expect(path, text, table, "sha256", str) or None) and table["sha256"].lower(),
            file=Path(file_value).expanduser() if file_value else None,
        )

    trees = {m.source.name.lower(): m.source.name for m in catalog.MODELS if m.source}
    sources: dict[str, SourceOverride] = {}
    for name, table in data.get("sources", {}).items():
        if not isinstance(table, dict) or name.lower() not in trees:
            raise _bad(path, f"[sources.{name}] must be a table named after a source tree ({', '.join(trees.values())})",
                       _line_of(text, f"sources.{name}"))
        commit = _expect(path, text, table, "commit", str)
        if commit is not None and not COMMIT_ID.match(commit.lower()):
            # git would read a value such as `--upload-pack=...` as an option, and run it
            raise _bad(path, f"'commit' must be a commit id: 7 to 40 hex digits, not {commit!r}",
                       _line_of(text, "commit"))
        tree_url = _expect(path, text, table, "url", str)
        if tree_url is not None and tree_url.startswith("-"):
            raise _bad(path, f"'url' must be a repository url or path, not {tree_url!r}", _line_of(text, "url"))
        sources[trees[name.lower()]] = SourceOverride(url=tree_url, commit=commit.lower() if commit else None)

    envs = {family: _env_choice(path, text, family, table) for family, table in data.get("envs", {}).items()}
    environments = data.get("environments", {})
    run = data.get("run", {})
    gpu = data.get("gpu", {})
    dataset = data.get("dataset", {})
    for key in dataset:
        if key not in DATASET_KEYS:
            raise _bad(path, f"unknown key '{key}' in [dataset] (known: {', '.join(DATASET_KEYS)})", _line_of(text, key))
    executable = _expect(path, text, environments, "executable", str)
    channels = _expect(path, text, environments, "channels", list) or []
    if not all(isinstance(c, str) for c in channels):
        raise _bad(path, "'channels' must be a list of strings", _line_of(text, "channels"))
    specs = _expect(path, text, environments, "specs", str)
    config = Config(
        models=models,
        sources=sources,
        backend=_expect(path, text, environments, "backend", str, BACKENDS) or "auto",
        executable=Path(executable).expanduser() if executable else None,
        channels=tuple(channels),
        channel_alias=_expect(path, text, environments, "channel_alias", str),
        specs_dir=Path(specs).expanduser() if specs else None,
        envs=envs,
        device=_expect(path, text, run, "device", str, DEVICES) or "auto",
        gpu_interval=_seconds(path, text, gpu, "interval", 1.0),
        gpu_history=_seconds(path, text, gpu, "history", 300.0),
        dataset_annotations_url=_http_url(path, text, dataset, "annotations_url"),
        dataset_workers=_workers(path, text, dataset),
        source=path,
    )
    return config


def write_env_choice(family: str, choice: EnvChoice, path: Path | None = None) -> Path:
    """Make the config file's `[envs.FAMILY]` say `choice` (an empty choice removes the table), keeping
    every other line and comment as it was. The new file is read back by `load` before it replaces
    the old one, atomically and with the old one's permissions; a symlinked file is written through.
    UserError, with nothing written, when the file is broken or holds [envs] in a form this cannot edit."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = path or paths.config_file()
    load(path)  # a broken file is refused as it is, before anything is written
    target = Path(os.path.realpath(path))
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    try:
        document = tomlkit.parse(text)
        envs = document.setdefault("envs", tomlkit.table(is_super_table=True))
        table = envs.setdefault(family, tomlkit.table())
        for key, value in (("spec", choice.spec), ("python", choice.python)):
            if value is None:
                table.pop(key, None)
            else:
                table[key] = str(value)
        if not table:
            del envs[family]
        if not envs:
            del document["envs"]
        new_text = tomlkit.dumps(document)
    except (ValueError, TypeError, KeyError, TOMLKitError) as exc:
        raise UserError(f"cannot update {path}: its [envs] is written in a form this cannot edit ({exc}); "
                        f"set [envs.{family}] by hand") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with replaced_atomically(target) as handle:
            handle.write(new_text)
            handle.flush()
            temporary = Path(handle.name)
            if target.exists():
                os.chmod(temporary, target.stat().st_mode & 0o7777)
            try:
                written = load(temporary).env_choice_for(family)
            except UserError as exc:
                raise UserError(f"cannot update {path}: the result would not read back ({exc})") from None
            if written != choice:
                raise UserError(f"cannot update {path}: [envs.{family}] would read back as {written}; set it by hand")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return target


# ---- what the app remembers ----------------------------------------------------------------
# The image folder, output folder and model file of the last run the app started, and the theme.
# Kept in `paths.state_file()`, apart from the config file: the app writes it, the user never has
# to. Whatever is wrong with the file, the app starts with nothing remembered (or without the values
# that are wrong), never with an error.

REMEMBERED_MAX_BYTES = 64 * 1024
REMEMBERED_MAX_CHARS = 4096


@dataclass(frozen=True)
class Remembered:
    images_dir: Path | None = None
    """The image folder of the last run started."""
    out_dir: Path | None = None
    """Its output folder."""
    model_file: Path | None = None
    """Its local model file; None when it used the cached checkpoint."""
    theme: str | None = None
    """The theme last chosen (a Textual theme name; the app checks it still exists)."""
    browse_threshold: str | None = None
    """The Browse screen's score threshold as last set (the screen checks it is a number in 0..1)."""


_REMEMBERED_PATHS = ("images_dir", "out_dir", "model_file")


def load_remembered() -> Remembered:
    """What the last start left in the state file; nothing (or less) where the file is missing or wrong."""
    data = read_small_json(paths.state_file(), REMEMBERED_MAX_BYTES)
    if not isinstance(data, dict):
        return Remembered()
    found = {name: _remembered_text(data.get(name)) for name in (f.name for f in fields(Remembered))}
    for name in _REMEMBERED_PATHS:
        found[name] = Path(found[name]) if found[name] and Path(found[name]).is_absolute() else None
    return Remembered(**found)


def _remembered_text(value: object) -> str | None:
    """A value fit to show and to use as a path: printable (no NUL, newline or terminal escape), not too long."""
    if isinstance(value, str) and 0 < len(value) <= REMEMBERED_MAX_CHARS and value.isprintable():
        return value
    return None


def save_remembered(state: Remembered) -> None:
    """Replace the state file with `state`; OSError when the data dir cannot be written. (A path with
    undecodable bytes is written escaped, and dropped by `load_remembered`.)"""
    data = {f.name: None if getattr(state, f.name) is None else str(getattr(state, f.name)) for f in fields(state)}
    paths.state_file().parent.mkdir(parents=True, exist_ok=True)
    write_atomically(paths.state_file(), json.dumps(data, indent=1) + "\n")
