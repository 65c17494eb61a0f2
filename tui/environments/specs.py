"""Environment specs: `envs/<family>.yml` (a conda environment file) and `envs/<family>.post.toml`
(post-install steps, checks and a rough size). The format is described in envs/README.md.

The environment files use the small subset of YAML that conda's own files use: comments, scalar
`key: value` lines and `- item` lists, one of which may hold a nested `- pip:` list. That subset is
read here without a YAML library; anything else is a UserError naming the file and line.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tui import catalog, paths
from tui.config import Config
from tui.errors import UserError


@dataclass(frozen=True)
class Step:
    """One post-install step: `pip` arguments for the environment's own pip, or an argv to `run`."""

    name: str
    pip: tuple[str, ...] = ()
    run: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockInputs:
    """The post file's `[lock]` table: what the lock holds beyond the spec's `pip:` lines."""

    requirements: tuple[str, ...] = ()
    """More requirement lines, for every backend."""
    from_conda: tuple[str, ...] = ()
    """Requirement lines for what the conda part installs: in the lock for the uv backend (PyPI's
    builds), left out of the lock's install by the conda backends."""
    no_build_isolation: tuple[str, ...] = ()
    """Packages built from source against the environment (their build imports what is installed
    before them, as mmcv-full's imports torch): installed after the rest of the lock."""


@dataclass(frozen=True)
class EnvSpec:
    family: str
    name: str
    """The environment's name for conda (`conda activate NAME`)."""
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    """Conda match specs, in file order."""
    pip: tuple[str, ...]
    """The file's `pip:` section: requirement lines for the environment's own pip."""
    steps: tuple[Step, ...]
    verify_files: tuple[str, ...]
    """Paths relative to the prefix that must exist."""
    verify_run: tuple[str, ...]
    """An argv run inside the environment by `verify`; empty for none."""
    size_mb: int
    file: Path
    post_file: Path | None
    digest: str = field(repr=False)
    """sha256 of both files and the lock: recorded in a prefix when it is built, compared to find stale ones."""
    variant_of: str | None = None
    """The family whose models this spec can run instead of the family's own (`[envs.FAMILY] spec`)."""
    note: str = ""
    """How this environment departs from the paper's: shown by doctor, recorded in each output's meta."""
    lock: LockInputs = LockInputs()
    """What `<family>.lock` is made from, beyond the `pip:` lines (`[lock]` in the post file)."""

    @property
    def lock_file(self) -> Path:
        """`envs/<family>.lock`: every pip package pinned and hashed (it may not exist yet)."""
        return self.file.with_suffix(".lock")

    @property
    def python_version(self) -> str | None:
        """The version the conda part's `python` spec names (`python=3.9` gives "3.9"); None without one."""
        for line in self.conda:
            name, _, version = line.replace("==", "=").partition("=")
            if name.strip().split("::")[-1] == "python" and version:
                return version.strip().rstrip(".*")
        return None


def specs_dir(config: Config) -> Path:
    return config.specs_dir or paths.envs_specs_dir()


def families(config: Config) -> list[str]:
    """The families with an environment file, catalog families first."""
    found = sorted(p.stem for p in specs_dir(config).glob("*.yml"))
    return [f for f in catalog.FAMILIES if f in found] + [f for f in found if f not in catalog.FAMILIES]


def load(family: str, config: Config) -> EnvSpec:
    file = specs_dir(config) / f"{family}.yml"
    if not file.is_file():
        known = ", ".join(families(config)) or "none"
        where = f" (no {file})" if config.specs_dir else ""  # the bundled folder is the package's business
        raise UserError(f"no environment '{family}'{where}; known environments: {known}")
    text = file.read_text(encoding="utf-8")
    data = _read_env_file(file, text)
    for key in ("channels", "dependencies"):
        if not isinstance(data.get(key, []), list):
            raise UserError(f"{file}: `{key}:` must be followed by `- item` lines")
    post_file = file.with_name(f"{family}.post.toml")
    post_text = post_file.read_text(encoding="utf-8") if post_file.is_file() else ""
    try:
        post = tomllib.loads(post_text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{post_file}: {exc}") from None
    conda = [d for d in data.get("dependencies", []) if isinstance(d, str)]
    pip = [line for d in data.get("dependencies", []) if isinstance(d, dict) for line in d.get("pip", [])]
    verify = post.get("verify", {})
    for key in ("variant_of", "note"):
        if not isinstance(post.get(key, ""), str):
            raise UserError(f"{post_file}: `{key}` must be a string")
    return EnvSpec(
        family=family,
        name=str(data.get("name") or f"fashionfail-{family}"),
        channels=tuple(data.get("channels", [])),
        conda=tuple(conda),
        pip=tuple(pip),
        steps=tuple(_step(post_file, raw) for raw in post.get("steps", [])),
        verify_files=tuple(verify.get("files", [])),
        verify_run=tuple(verify.get("run", [])),
        size_mb=int(post.get("size_mb", 0)),
        file=file,
        post_file=post_file if post_text else None,
        digest=hashlib.sha256(text.encode() + b"\0" + post_text.encode() + b"\0" + _read_or_empty(file.with_suffix(".lock"))).hexdigest(),
        variant_of=post.get("variant_of") or None,
        note=post.get("note", ""),
        lock=_lock_inputs(post_file, post.get("lock", {})),
    )


def variants(family: str, config: Config) -> list[str]:
    """The specs a family's models can run in: its own, then those declaring `variant_of` it."""
    return [family] + [name for name in families(config) if name != family and load(name, config).variant_of == family]


def selected(family: str, config: Config) -> str:
    """The spec a family's models run in: the config's `[envs.FAMILY] spec`, else the family's own.
    UserError when the config names a spec that does not exist or is not a variant of the family."""
    wanted = config.env_choice_for(family).spec
    if not wanted or wanted == family:
        return family
    choices = variants(family, config)
    if wanted not in choices:
        raise UserError(f"[envs.{family}] spec = '{wanted}' is not an environment of {family} "
                        f"(choose one of: {', '.join(choices)})")
    return wanted


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _lock_inputs(post_file: Path, raw) -> LockInputs:
    keys = ("requirements", "from_conda", "no_build_isolation")
    if not isinstance(raw, dict) or set(raw) - set(keys) or \
            not all(isinstance(raw.get(k, []), list) and all(isinstance(v, str) for v in raw.get(k, [])) for k in keys):
        raise UserError(f"{post_file}: [lock] takes only lists of strings: {', '.join(keys)}")
    return LockInputs(*(tuple(raw.get(k, [])) for k in keys))


def _step(post_file: Path, raw: dict) -> Step:
    if not isinstance(raw, dict) or not raw.get("name") or bool(raw.get("pip")) == bool(raw.get("run")):
        raise UserError(f"{post_file}: each [[steps]] needs a name and exactly one of pip = [...] or run = [...]")
    return Step(str(raw["name"]), tuple(map(str, raw.get("pip", ()))), tuple(map(str, raw.get("run", ()))))


def _read_env_file(file: Path, text: str) -> dict:
    """The conda-file subset of YAML described in the module docstring."""
    data: dict = {}
    current: list | None = None
    nested: list | None = None
    nested_indent = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0 and ":" in body and not body.startswith("-"):
            key, value = (part.strip() for part in body.split(":", 1))
            data[key] = _scalar(value) if value else []
            current, nested = (None if value else data[key]), None
        elif body.startswith("- ") and current is not None:
            item = body[2:].strip()
            if nested is not None and indent > nested_indent:
                nested.append(_scalar(item))
            elif item.endswith(":"):
                nested, nested_indent = [], indent
                current.append({item[:-1].strip(): nested})
            else:
                nested = None
                current.append(_scalar(item))
        else:
            raise UserError(f"{file}:{number}: not understood (environment files use `key: value` and `- item` lines)")
    return data


def _scalar(value: str) -> str:
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" else value
