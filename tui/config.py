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
    backend = "auto"             # auto | embedded | uv | conda | mamba | micromamba
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
from tui.files import json_text, replaced_atomically, write_atomically
from tui.urls import url_problem

BACKENDS = ("auto", "embedded", "uv", "conda", "mamba", "micromamba")
COMMIT_ID = re.compile(r"^[0-9a-f]{7,40}$")
"""A git commit id, full or abbreviated: the only form a source tree's `commit` may take."""
DEVICES = ("auto", "cpu", "cuda")
DATASET_KEYS = ("annotations_url", "workers")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHANNEL_SCHEMES = ("http", "https", "file")
_GIT_SCHEMES = ("http", "https", "file", "ssh", "git")
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
    """A UserError naming the config file and the line that sets `key` (dotted: `envs.amrcnn` is that
    table's header), for a check made after loading (`tui.environments.load_config` checks the [envs]
    spec names against the spec files)."""
    try:
        line = _line_of(path.read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        line = None
    return _bad(path, message, line)


_HEADER = re.compile(r"^\s*\[\[?([^\[\]]*)\]\]?\s*(?:#.*)?$")
_NAME_PART = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([^.\s]+)")


def _table_name(header: str) -> tuple[str, ...]:
    """`models."facere+"` -> ("models", "facere+")."""
    return tuple(next(group for group in match.groups() if group is not None)
                 for match in _NAME_PART.finditer(header))


def _line_of(text: str, key: str, table: tuple[str, ...] = ()) -> int | None:
    """The line that sets `key` (dotted for a table: `models.yolo`) inside `table`: a `key = ...` line
    under that table's header, or the header `[table.key]`. A key written another way (an inline table,
    a dotted key) falls back to the first line anywhere that starts with it."""
    parts = table + tuple(key.split("."))
    owner, name = parts[:-1], parts[-1]
    assignment = re.compile(rf"""^\s*(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')\s*=""")
    current: tuple[str, ...] = ()
    fallback = None
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            current = _table_name(header.group(1))
            if current[:len(parts)] == parts:
                return number
        elif assignment.match(line) and current == owner:
            return number
        if fallback is None and re.match(rf"\s*\[?\s*{re.escape(key)}\b", line):
            fallback = number
    return fallback


class _Table:
    """One table of the config file, whose values are checked here and reported at their own lines."""

    def __init__(self, path: Path, text: str, name: tuple[str, ...], data: dict):
        self.path, self.text, self.name, self.data = path, text, name, data

    def bad(self, key: str, message: str) -> UserError:
        return _bad(self.path, message, _line_of(self.text, key, self.name))

    def value(self, key: str, kind: type | tuple, choices=None):
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.bad(key, f"'{key}' has the wrong type ({type(value).__name__})")
        if choices and value not in choices:
            raise self.bad(key, f"'{key}' must be one of {', '.join(choices)}, not {value!r}")
        return value

    def text_value(self, key: str) -> str | None:
        """A string that is not empty and holds no NUL (it names a file, a URL, a commit: no path or
        program argument can hold a NUL). Other control characters are allowed, as file names may
        hold them; every place that shows the value escapes them (`tui.text`)."""
        value = self.value(key, str)
        if value is None:
            return None
        if not value:
            raise self.bad(key, f"'{key}' must not be empty")
        if "\0" in value:
            raise self.bad(key, f"'{key}' contains a NUL character, which no path or URL can hold: {value!r}")
        return value

    def path_value(self, key: str) -> Path | None:
        value = self.text_value(key)
        return Path(value).expanduser() if value else None

    def seconds(self, key: str, default: float, lowest: float, highest: float) -> float:
        value = self.value(key, (int, float))
        if value is None:
            return default
        if not 0 < value < float("inf"):
            raise self.bad(key, f"'{key}' must be a positive number of seconds, not {value}")
        if not lowest <= value <= highest:
            raise self.bad(key, f"'{key}' must be between {lowest:g} and {highest:g} seconds, not {value:g}")
        return float(value)

    def url(self, key: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
        value = self.value(key, str)
        if value is None:
            return None
        if not value.lower().startswith(tuple(s + "://" for s in schemes)):
            raise self.bad(key, f"'{key}' must be an {' or '.join(s + '://' for s in schemes)} URL, not {value!r}")
        if problem := url_problem(value, schemes):
            raise self.bad(key, f"'{key}' is not a valid URL ({problem}): {value!r}")
        return value

    def workers(self) -> int:
        value = self.value("workers", int)
        if value is None:
            return 8
        if not 1 <= value <= MAX_WORKERS:
            raise self.bad("workers", f"'workers' must be between 1 and {MAX_WORKERS}, not {value}")
        return value


def _env_choice(path: Path, text: str, family: str, table) -> EnvChoice:
    where = _line_of(text, f"envs.{family}")
    if not isinstance(table, dict) or family not in catalog.FAMILIES:
        raise _bad(path, f"[envs.{family}] must be a table named after a model family ({', '.join(catalog.FAMILIES)})",
                   where)
    unknown = sorted(set(table) - {"spec", "python"})
    if unknown:
        raise _bad(path, f"[envs.{family}] has an unknown key '{unknown[0]}' (known: spec, python)", where)
    checked = _Table(path, text, ("envs", family), table)
    python = checked.text_value("python")
    if python is not None and not Path(python).expanduser().is_absolute():
        raise checked.bad("python", f"[envs.{family}] python must be an absolute path, not {python!r}")
    return EnvChoice(spec=checked.text_value("spec") or None, python=Path(python).expanduser() if python else None)


def _model_override(path: Path, text: str, name: str, table) -> tuple[str, ModelOverride]:
    if not isinstance(table, dict):
        raise _bad(path, f"[models.{name}] must be a table", _line_of(text, f"models.{name}"))
    try:
        canonical = catalog.get(name).name
    except UserError:
        raise _bad(path, f"unknown model '{name}' in [models.{name}]", _line_of(text, f"models.{name}")) from None
    checked = _Table(path, text, ("models", name), table)
    sha256 = checked.text_value("sha256")
    if sha256 is not None and not SHA256.match(sha256.lower()):
        raise checked.bad("sha256", f"'sha256' must be 64 hex digits, not {sha256!r}")
    return canonical, ModelOverride(url=checked.url("url"),  # checkpoints come over HTTP
                                    sha256=sha256.lower() if sha256 else None, file=checked.path_value("file"))


def _source_override(path: Path, text: str, name: str, table, trees: dict[str, str]) -> tuple[str, SourceOverride]:
    if not isinstance(table, dict) or name.lower() not in trees:
        raise _bad(path, f"[sources.{name}] must be a table named after a source tree ({', '.join(trees.values())})",
                   _line_of(text, f"sources.{name}"))
    checked = _Table(path, text, ("sources", name), table)
    commit = checked.value("commit", str)
    if commit is not None and not COMMIT_ID.match(commit.lower()):
        # git would read a value such as `--upload-pack=...` as an option, and run it
        raise checked.bad("commit", f"'commit' must be a commit id: 7 to 40 hex digits, not {commit!r}")
    tree_url = checked.text_value("url")
    if tree_url is not None and tree_url.startswith("-"):
        raise checked.bad("url", f"'url' must be a repository url or path, not {tree_url!r}")
    if tree_url is not None and "://" in tree_url and (problem := url_problem(tree_url, _GIT_SCHEMES)):
        raise checked.bad("url", f"'url' is not a valid URL ({problem}): {tree_url!r}")
    return trees[name.lower()], SourceOverride(url=tree_url, commit=commit.lower() if commit else None)


def _channels(table: _Table) -> tuple[str, ...]:
    channels = table.value("channels", list) or []
    if not all(isinstance(c, str) for c in channels):
        raise table.bad("channels", "'channels' must be a list of strings")
    for channel in channels:
        problem = (url_problem(channel, _CHANNEL_SCHEMES) if "://" in channel
                   else None if channel and channel.isprintable() and not channel.startswith("-") else "not a channel name")
        if problem:
            raise table.bad("channels", f"'channels' holds {channel!r}, which is not a valid channel URL or name "
                                        f"({problem})")
    return tuple(channels)


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

    models = dict(_model_override(path, text, name, table) for name, table in data.get("models", {}).items())
    trees = {m.source.name.lower(): m.source.name for m in catalog.MODELS if m.source}
    sources = dict(_source_override(path, text, name, table, trees) for name, table in data.get("sources", {}).items())
    envs = {family: _env_choice(path, text, family, table) for family, table in data.get("envs", {}).items()}
    environments, run, gpu, dataset = (_Table(path, text, (name,), data.get(name, {}))
                                       for name in ("environments", "run", "gpu", "dataset"))
    for key in dataset.data:
        if key not in DATASET_KEYS:
            raise dataset.bad(key, f"unknown key '{key}' in [dataset] (known: {', '.join(DATASET_KEYS)})")
    return Config(
        models=models,
        sources=sources,
        backend=environments.value("backend", str, BACKENDS) or "auto",
        executable=environments.path_value("executable"),
        channels=_channels(environments),
        channel_alias=environments.url("channel_alias", _CHANNEL_SCHEMES),
        specs_dir=environments.path_value("specs"),
        envs=envs,
        device=run.value("device", str, DEVICES) or "auto",
        gpu_interval=gpu.seconds("interval", 1.0, 0.1, 3600),  # faster would keep the app busy sampling
        gpu_history=gpu.seconds("history", 300.0, 1, 86400),  # a day of samples fits in memory
        dataset_annotations_url=dataset.url("annotations_url"),
        dataset_workers=dataset.workers(),
        source=path,
    )


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
    from tui import outside_json

    try:
        data = outside_json.read_object(paths.state_file(), REMEMBERED_MAX_BYTES)
    except (OSError, ValueError):  # missing, not a regular file, too large, not JSON, not an object
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
    write_atomically(paths.state_file(), json_text(data, indent=1) + "\n")
