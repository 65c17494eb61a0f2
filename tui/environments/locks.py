"""Hash locks of the environments' pip packages (`envs/<family>.lock`) and installing them with uv.

A lock is what `uv pip compile --generate-hashes` writes for the spec's Python on linux x86_64:
every package pinned with `==` and followed by its `--hash=sha256:` lines, under a header that names
the platform and the digest of what the lock was made from (the `pip:` lines, the post file's
`[lock]` table, the Python). `fashionfail-tui env lock FAMILY` regenerates it; a lock whose digest
is not its spec's is stale, and no backend installs from it.

Every backend installs the pip part from the lock, hash-checked, with the uv that comes with the app
(the `uv` package's own binary): the uv backend syncs the venv to it exactly; the conda backends
install it without dependencies, less what their conda part brought (`[lock] from_conda`). Packages
built against the environment (`[lock] no_build_isolation`, such as mmcv-full, whose build imports
torch) are installed after the rest, without build isolation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tui import files, outside_json, processes
from tui.environments.operation import StepContext, StepFailed
from tui.environments.specs import EnvSpec
from tui.errors import UserError

PLATFORM = "x86_64-manylinux_2_28"
"""What every lock is resolved for: linux x86_64 with glibc 2.28 or newer (uv's --python-platform)."""
BUILD_CONSTRAINTS = ("setuptools<70",)
"""For building old source packages' metadata while locking: mmcv-full 1.3.18's setup.py imports
`pkg_resources` without declaring it, which newer setuptools no longer bring."""
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HEADER = re.compile(r"^# (python|platform|inputs-sha256): (\S+)")


def uv_bin() -> str:
    """The uv binary that comes with the app (the `uv` package, one of its dependencies)."""
    try:
        from uv import find_uv_bin
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        raise UserError("uv is not installed with the app (it is one of its dependencies): "
                        "reinstall fashionfail-tui") from None


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def has_pip_part(spec: EnvSpec) -> bool:
    """Whether the spec installs anything with pip (and so needs its lock)."""
    return bool(spec.pip or spec.lock.requirements)


def inputs(spec: EnvSpec) -> list[str]:
    """The requirement lines a lock is made from: `pip:`, then `[lock] requirements` and `from_conda`."""
    return [*spec.pip, *spec.lock.requirements, *spec.lock.from_conda]


def inputs_digest(spec: EnvSpec) -> str:
    """What the lock's header records: the sha256 of everything its resolution depends on."""
    made_of = {"python": spec.python_version, "platform": PLATFORM, "requirements": inputs(spec),
               "no_build_isolation": list(spec.lock.no_build_isolation), "build_constraints": list(BUILD_CONSTRAINTS)}
    return hashlib.sha256(files.json_text(made_of, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Lock:
    path: Path
    header: dict[str, str]
    """`python`, `platform` and `inputs-sha256` from the header."""
    blocks: dict[str, str]
    """Each package's lines (its pin and hashes), by canonical name, in file order."""
    pins: dict[str, str]
    """Each package's pinned version, by canonical name."""

    def requirements(self, leave_out=(), only=None) -> str:
        """Requirement-file text of the lock's packages, less `leave_out`, or only `only` (canonical names)."""
        names = [name for name in self.blocks if name not in leave_out and (only is None or name in only)]
        return "".join(self.blocks[name] + "\n" for name in names)


def read(path: Path) -> Lock:
    """A lock file; UserError when it is missing or a package in it is not pinned with hashes."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the lock {path}: {getattr(exc, 'strerror', None) or exc}") from None
    header, blocks, pins, current = {}, {}, {}, None
    for number, line in enumerate(text.splitlines(), start=1):
        found = _HEADER.match(line)
        if found:
            header[found.group(1)] = found.group(2)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith((" ", "\t")):
            if current is None:
                raise UserError(f"{path}:{number}: an indented line before any package")
            blocks[current] += "\n" + line
            continue
        pin = _PIN.match(line)
        if not pin:
            raise UserError(f"{path}:{number}: not a pinned requirement (`name==version \\` then its hashes): {line[:80]}")
        current = canonical(pin.group(1))
        blocks[current], pins[current] = line, pin.group(3)
    for name, block in blocks.items():
        if "--hash=sha256:" not in block:
            raise UserError(f"{path}: {name}=={pins[name]} has no --hash=sha256: line")
    return Lock(path, header, blocks, pins)


def problem(spec: EnvSpec) -> str | None:
    """Why the spec's lock cannot be installed (missing, or made from other inputs); None when it can."""
    fix = f"run fashionfail-tui env lock {spec.family}"
    if not spec.lock_file.is_file():
        return f"{spec.family} has pip packages but no lock {spec.lock_file.name} ({fix})"
    if read(spec.lock_file).header.get("inputs-sha256") != inputs_digest(spec):
        return f"{spec.lock_file.name} is stale: {spec.file.name}'s pip packages or [lock] changed since it was made ({fix})"
    return None


def compile_lock(spec: EnvSpec, context: StepContext) -> Path:
    """Resolve the spec's lock inputs with `uv pip compile --generate-hashes` and write the lock
    (atomically: a failed resolution leaves the old one)."""
    if not spec.python_version:
        raise StepFailed(f"{spec.file.name} names no python version to lock for")
    if not inputs(spec):
        raise StepFailed(f"{spec.file.name} has no pip packages to lock")
    with tempfile.TemporaryDirectory(prefix="fashionfail-lock-") as work:
        folder = Path(work)
        (folder / f"{spec.family}.in").write_text("".join(line + "\n" for line in inputs(spec)), encoding="utf-8")
        (folder / "build-constraints.txt").write_text("".join(c + "\n" for c in BUILD_CONSTRAINTS), encoding="utf-8")
        run_uv(context, [uv_bin(), "pip", "compile", "--quiet", f"{spec.family}.in", "--generate-hashes", "--no-header",
                     "--python-version", spec.python_version, "--python-platform", PLATFORM,
                     "--build-constraints", "build-constraints.txt", "--output-file", "out.lock"], cwd=folder)
        body = (folder / "out.lock").read_text(encoding="utf-8")
    header = (f"# fashionfail-tui lock of {spec.file.name}'s pip packages: do not edit, regenerate with\n"
              f"#   fashionfail-tui env lock {spec.family}\n"
              f"# made by `uv pip compile --generate-hashes` for:\n"
              f"# python: {spec.python_version}\n"
              f"# platform: {PLATFORM}\n"
              f"# inputs-sha256: {inputs_digest(spec)}\n")
    temporary = spec.lock_file.with_name(f".{spec.lock_file.name}.tmp")
    temporary.write_text(header + body, encoding="utf-8")
    os.replace(temporary, spec.lock_file)
    lock = read(spec.lock_file)
    context.line(f"{len(lock.pins)} packages pinned with their hashes: {spec.lock_file}")
    return spec.lock_file


def install(spec: EnvSpec, python: Path, context: StepContext, *, exact: bool) -> None:
    """Install the spec's lock into the environment of `python`, hash-checked.

    exact (the uv backend): the environment becomes the lock, nothing more (`uv pip sync`), PyPI's
    builds of `from_conda` included. Otherwise (after a conda part): the lock less `from_conda`,
    without dependencies (the lock names them all), leaving the conda packages alone."""
    if not has_pip_part(spec):
        return
    trouble = problem(spec)
    if trouble:
        raise StepFailed(trouble)
    lock = read(spec.lock_file)
    from_conda = set() if exact else {canonical(_name(line)) for line in spec.lock.from_conda}
    late = {canonical(name) for name in spec.lock.no_build_isolation}
    uv = [uv_bin(), "pip"]
    target = ["--python", str(python), "--require-hashes"]
    built_here = late & set(lock.pins)
    isolation = [arg for name in sorted(built_here) for arg in ("--no-build-isolation-package", name)]
    context.line(f"{len(set(lock.pins) - from_conda)} packages from {spec.lock_file.name}"
                 + (f" ({', '.join(sorted(built_here))} built against the others)" if built_here else ""))
    with tempfile.TemporaryDirectory(prefix="fashionfail-install-") as work:
        rest, last = Path(work) / "locked.txt", Path(work) / "built-against-them.txt"
        rest.write_text(lock.requirements(leave_out=from_conda | built_here), encoding="utf-8")
        if exact:  # the venv becomes the lock, less what is built against it (installed next)
            run_uv(context, [*uv, "sync", *target, str(rest)])
        else:
            run_uv(context, [*uv, "install", *target, "--no-deps", "-r", str(rest)])
        if built_here:
            last.write_text(lock.requirements(only=built_here), encoding="utf-8")
            run_uv(context, [*uv, "install", *target, "--no-deps", *isolation, "-r", str(last)])


def run_uv(context: StepContext, argv: list[str], **kwargs) -> None:
    """Run uv; when it fails, the step's one line is uv's own `error:` and `cause:` lines, not its last."""
    said: list[str] = []

    def on_line(text: str) -> None:
        if text.lstrip().startswith(("error:", "cause:")):
            said.append(" ".join(text.split()))
        context.line(text)

    try:
        context.run(argv, on_line=on_line, **kwargs)
    except StepFailed as exc:
        raise StepFailed("uv: " + "; ".join(said) if said else str(exc)) from None


def drift(spec: EnvSpec, python: Path, *, exact: bool) -> list[str]:
    """How the installed packages differ from the lock: one line per package not installed or
    installed at another version (`from_conda` ones left out unless `exact`)."""
    lock = read(spec.lock_file)
    done = processes.run([uv_bin(), "pip", "list", "--python", str(python), "--format", "json"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise StepFailed(f"uv pip list failed: {done.stderr.strip()[-300:]}")
    listed = outside_json.parse(done.stdout or "[]")
    installed = {canonical(item["name"]): item["version"] for item in (listed if isinstance(listed, list) else [])
                 if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("version"), str)}
    from_conda = set() if exact else {canonical(_name(line)) for line in spec.lock.from_conda}
    lines = []
    for name, version in lock.pins.items():
        if name in from_conda:
            continue
        have = installed.get(name)
        if have is None:
            lines.append(f"{name} is not installed (the lock says {version})")
        elif have != version:
            lines.append(f"{name} {have} is installed, the lock says {version}")
    return lines


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
