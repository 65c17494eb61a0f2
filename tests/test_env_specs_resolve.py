"""Each bundled environment spec, resolved by the real pip against PyPI in a virtual environment
of the spec's own Python (from pyenv): nothing may resolve to a version that breaks the pinned
frameworks (numpy 2 under TensorFlow 2.11; anything that makes pip replace conda's torch 1.9).

`pip install --dry-run --report` downloads metadata only. What the test stands in for:
- conda's pinned Python packages (torch 1.9.0 and torchvision 0.10.0 for fformer) are installed
  distributions pip can see (a dist-info holding their name and version), because pip runs after
  conda: it keeps what is installed unless a requirement makes it replace it, which is exactly
  the failure to catch. So the dry-run does NOT pass --ignore-installed.
- the post-install steps' pip arguments join the `pip:` lines in one resolution, except those
  in UNRESOLVABLE (each with its reason), and `-f URL` (OpenMMLab's index, for mmcv-full only).
- pip resolves against PyPI only: its config files and PIP_FIND_LINKS / PIP_EXTRA_INDEX_URL are
  left out, so a local wheel folder cannot stand in for what users get.

Skipped, with the reason, when pyenv has no Python of a spec's minor version or PyPI cannot be
reached; deselect with `-m "not pypi"`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tui.config import Config
from tui.environments import specs

pytestmark = [pytest.mark.pypi, pytest.mark.timeout(900)]

KEPT = "kept"
"""Installed by conda: pip must not replace it."""
REQUIRED = {
    "amrcnn": {"tensorflow-gpu": "==2.11.0", "numpy": "<2", "pillow": "==9.5.0", "protobuf": "<3.20",
               "matplotlib": ""},
    "amrcnn-tf215": {"tensorflow": "==2.15.*", "numpy": "<2", "pillow": "==9.5.0", "matplotlib": ""},
    "fformer": {"torch": KEPT, "torchvision": KEPT, "mmdet": "==2.18.0", "numpy": "<2", "yapf": "<0.40.2"},
    "facere": {"onnxruntime-gpu": "", "pillow": "", "pycocotools": ""},
}
"""Per spec: what each named package must resolve to (a specifier; "" for any version), or KEPT."""
CONDA_PYTHON_PACKAGES = {"pytorch": "torch", "torchvision": "torchvision", "numpy": "numpy"}
"""Conda packages that are Python distributions pip sees, by their pip names."""
CONDA_OTHER_PACKAGES = {"python", "pip", "cudatoolkit", "mkl"}
UNRESOLVABLE = {
    "mmcv-full==1.3.18": "its wheels are on OpenMMLab's index only (not reachable here); PyPI has the "
                         "source package, whose build needs torch",
    "git+https://github.com/cocodataset/panopticapi.git": "a git URL, not on PyPI",
}
OPTIONS_WITH_A_VALUE = {"-f", "--find-links", "-i", "--index-url", "--extra-index-url"}


def bundled_specs() -> list[str]:
    return specs.families(Config())


def test_every_bundled_spec_has_its_rules():
    assert sorted(bundled_specs()) == sorted(REQUIRED)


def pyenv_python(minor: str) -> Path | None:
    """The newest `$(pyenv root)/versions/<minor>.*/bin/python`, or None."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    found = [p for p in Path(root or Path.home() / ".pyenv").glob(f"versions/{minor}.*/bin/python")
             if re.fullmatch(r"\d+\.\d+\.\d+", p.parent.parent.name)]
    return max(found, key=lambda p: Version(p.parent.parent.name), default=None)


def conda_name_and_version(match_spec: str) -> tuple[str, str | None]:
    """`pytorch::pytorch=1.9.0` -> (pytorch, 1.9.0); `mkl<2024.1` -> (mkl, None)."""
    spec = match_spec.split("::")[-1].strip()
    name = re.split(r"[<>=!~ ]", spec, maxsplit=1)[0]
    pinned = re.fullmatch(rf"{re.escape(name)}\s*==?\s*([\w.]+?)(?:\.\*)?", spec)
    return name, pinned.group(1) if pinned else None


def python_minor(spec: specs.EnvSpec) -> str:
    version = next(v for n, v in map(conda_name_and_version, spec.conda) if n == "python")
    return ".".join(version.split(".")[:2])


def requirement_lines(spec: specs.EnvSpec) -> list[str]:
    """The `pip:` lines and the steps' pip arguments, less UNRESOLVABLE and index options."""
    lines = list(spec.pip)
    for step in spec.steps:
        arguments = iter(step.pip)
        for argument in arguments:
            if argument in OPTIONS_WITH_A_VALUE:
                next(arguments)
            elif argument.startswith("-"):
                raise AssertionError(f"{spec.family}: pip option {argument} in step '{step.name}' is not understood here")
            elif argument not in UNRESOLVABLE:
                lines.append(argument)
    return lines


def test_the_unresolvable_lines_are_still_in_the_specs():
    """An exclusion that matches nothing any more would hide nothing: keep the list honest."""
    every_argument = {a for family in bundled_specs() for s in specs.load(family, Config()).steps for a in s.pip}
    assert set(UNRESOLVABLE) <= every_argument


def add_conda_standins(venv: Path, spec: specs.EnvSpec) -> None:
    """A dist-info for each pinned conda package pip would see, as conda leaves one."""
    site = next(venv.glob("lib/python*/site-packages"))
    for match_spec in spec.conda:
        name, version = conda_name_and_version(match_spec)
        if name in CONDA_OTHER_PACKAGES:
            continue
        assert name in CONDA_PYTHON_PACKAGES, f"{spec.family}: say whether conda's {name} is a Python package pip sees"
        if version is None:
            continue  # unpinned: conda's choice is unknown here; pip resolves it like any other
        dist_info = site / f"{CONDA_PYTHON_PACKAGES[name]}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {CONDA_PYTHON_PACKAGES[name]}\nVersion: {version}\n")
        (dist_info / "INSTALLER").write_text("conda\n")
        (dist_info / "RECORD").write_text("")


def pypi_only_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def pypi_unreachable() -> str | None:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/")
    try:
        urllib.request.urlopen(index.rstrip("/") + "/pip/", timeout=20).close()
    except OSError as exc:
        return f"{index} is not reachable ({exc})"
    return None


def make_venv(python: Path, venv: Path) -> None:
    """A virtual environment of `python` whose pip is that Python's own, linked in (ensurepip would
    install pip and setuptools from wheels, most of this test's setup time)."""
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    base_site = subprocess.run([str(python), "-c", "import pip, os; print(os.path.dirname(os.path.dirname(pip.__file__)))"],
                               capture_output=True, text=True, check=True).stdout.strip()
    site = next(venv.glob("lib/python*/site-packages"))
    for entry in Path(base_site).iterdir():
        if entry.name == "pip" or entry.name.startswith("pip-") and entry.name.endswith(".dist-info"):
            (site / entry.name).symlink_to(entry)


class Resolution:
    """A dry-run of `lines` in a fresh venv of the spec's Python holding conda's stand-ins,
    started at once and waited for by its test."""

    def __init__(self, name: str, spec: specs.EnvSpec, lines: list[str], root: Path):
        self.name, self.spec = name, spec
        self.skip_reason = None
        python = pyenv_python(python_minor(spec))
        if python is None:
            self.skip_reason = f"pyenv has no Python {python_minor(spec)} for {spec.family}"
            return
        venv = root / name
        make_venv(python, venv)
        add_conda_standins(venv, spec)
        requirements = root / f"{name}.txt"
        requirements.write_text("\n".join(lines) + "\n")
        self.report_file = root / f"{name}.report.json"
        self.log = open(root / f"{name}.log", "w+")
        self.process = subprocess.Popen(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet", "--report",
             str(self.report_file), "-r", str(requirements)],
            stdout=self.log, stderr=subprocess.STDOUT, env=pypi_only_environment(), stdin=subprocess.DEVNULL)

    def resolved(self) -> dict[str, str]:
        """Package name -> the version pip would install, or the test skipped. Fails on a package
        that would be built from source (slow, needs compilers, and untested by the authors)."""
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        status = self.process.wait(timeout=850)
        self.log.seek(0)
        output = self.log.read()
        assert status == 0, f"pip could not resolve {self.name}:\n{output[-3000:]}"
        report = json.loads(self.report_file.read_text())["install"]
        built = sorted(i["metadata"]["name"] for i in report if not i["download_info"]["url"].endswith(".whl"))
        assert not built, f"{self.name}: these would be built from source: {built}"
        return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report}

    def stop(self) -> None:
        if self.skip_reason is None:
            self.process.kill()
            self.process.wait()
            self.log.close()


UNPINNED_TORCH_USER = "torchmetrics"
"""What fformer.yml had unpinned, whose newest release needs a newer torch: proves the check can fail."""


@pytest.fixture(scope="module")
def resolutions(tmp_path_factory):
    reason = pypi_unreachable()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("resolve")
    loaded = {family: specs.load(family, Config()) for family in REQUIRED}
    started = {family: Resolution(family, spec, requirement_lines(spec), root) for family, spec in loaded.items()}
    started[UNPINNED_TORCH_USER] = Resolution(UNPINNED_TORCH_USER, loaded["fformer"], [UNPINNED_TORCH_USER], root)
    yield started
    for resolution in started.values():
        resolution.stop()


@pytest.mark.parametrize("family", sorted(REQUIRED))
def test_the_spec_resolves_without_breaking_its_pinned_frameworks(resolutions, family):
    versions = resolutions[family].resolved()
    for name, wanted in REQUIRED[family].items():
        if wanted == KEPT:
            assert name not in versions, f"{family}: pip would replace conda's {name} with {versions[name]}"
        else:
            assert name in versions, f"{family}: {name} is not installed by the spec"
            assert Version(versions[name]) in SpecifierSet(wanted), f"{family}: {name} {versions[name]} is not {wanted}"


def test_an_unpinned_torch_user_is_caught(resolutions):
    """The check itself, shown to fail: torchmetrics unpinned (as fformer.yml had it) replaces conda's torch."""
    versions = resolutions[UNPINNED_TORCH_USER].resolved()
    assert REQUIRED["fformer"]["torch"] == KEPT and Version(versions["torch"]) > Version("1.9.0")
