"""The hash locks of the bundled specs (envs/<family>.lock): present, every package pinned and hashed,
made from the spec as it is now (the drift test), pinning what the paper's stacks need; and the
lock reader against hostile files. No network: the locks are read, not resolved (`env lock` is
tested in test_env_uv.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tui import paths
from tui.config import Config
from tui.environments import locks, specs
from tui.environments.conda import conda_part
from tui.errors import UserError

LOCKED = ("amrcnn", "amrcnn-tf215", "fformer", "facere")


def bundled(family: str) -> specs.EnvSpec:
    return specs.load(family, Config())


@pytest.mark.parametrize("family", LOCKED)
def test_every_bundled_spec_has_a_current_lock(family):
    """Fails when a spec's pip lines or [lock] change without its lock: run `fashionfail-tui env lock FAMILY`."""
    spec = bundled(family)
    assert locks.problem(spec) is None
    lock = locks.read(spec.lock_file)
    assert lock.header["platform"] == locks.PLATFORM and lock.header["python"] == spec.python_version
    text = spec.lock_file.read_text()
    packages = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(packages) == len(lock.pins) > 5
    assert all(re.match(r"^[a-z0-9][a-z0-9._-]*(\[[a-z0-9,_-]+\])?==\S+ \\$", line) for line in packages), packages
    for name, block in lock.blocks.items():
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), name


REQUIRED = {
    "amrcnn": {"tensorflow-gpu": "==2.11.0", "numpy": "<2", "pillow": "==9.5.0", "protobuf": "<3.20",
               "matplotlib": ""},
    "amrcnn-tf215": {"tensorflow": "==2.15.*", "numpy": "<2", "pillow": "==9.5.0", "matplotlib": ""},
    "fformer": {"torch": "==1.9.0", "torchvision": "==0.10.0", "mmcv-full": "==1.3.18", "mmdet": "==2.18.0",
                "numpy": "<1.24", "yapf": "<0.40.2", "opencv-python": "<5"},
    "facere": {"onnxruntime-gpu": "", "pillow": "", "pycocotools": ""},
}
"""Per spec: what each named package must be pinned to in its lock (a specifier; "" for any version)."""


def test_every_bundled_spec_has_its_rules():
    assert sorted(specs.families(Config())) == sorted(REQUIRED) == sorted(LOCKED)


@pytest.mark.parametrize("family", LOCKED)
def test_the_lock_keeps_the_pinned_frameworks(family):
    pins = locks.read(bundled(family).lock_file).pins
    for name, wanted in REQUIRED[family].items():
        assert name in pins, f"{family}.lock lacks {name}"
        assert Version(pins[name]) in SpecifierSet(wanted), f"{family}.lock pins {name}=={pins[name]}, wanted {wanted}"


def test_the_locks_pin_what_the_papers_stacks_need():
    amrcnn = locks.read(bundled("amrcnn").lock_file).pins
    assert amrcnn["tensorflow-gpu"] == "2.11.0" and amrcnn["numpy"].startswith("1.")
    assert amrcnn["pillow"] == "9.5.0" and tuple(map(int, amrcnn["protobuf"].split(".")[:2])) < (3, 20)
    fformer = locks.read(bundled("fformer").lock_file).pins
    assert (fformer["torch"], fformer["torchvision"], fformer["mmcv-full"], fformer["mmdet"]) == \
        ("1.9.0", "0.10.0", "1.3.18", "2.18.0")
    assert fformer["yapf"] == "0.40.1" and int(fformer["numpy"].split(".")[1]) < 24 and fformer["numpy"].startswith("1.")
    assert "torchmetrics" not in fformer and "datasets" not in fformer
    assert locks.read(bundled("amrcnn-tf215").lock_file).pins["tensorflow"].startswith("2.15.")


@pytest.fixture
def spec_copy(tmp_path):
    """The bundled specs and locks in a folder the test may edit."""
    folder = Path(shutil.copytree(paths.envs_specs_dir(), tmp_path / "envs"))
    return folder, Config(specs_dir=folder)


@pytest.mark.parametrize("edit", [
    lambda text: text.replace("      - tqdm\n", "      - tqdm\n      - requests\n"),     # a package added
    lambda text: text.replace("Pillow==9.5.0", "Pillow==10.0.0"),                     # a pin changed
    lambda text: text.replace("python=3.9", "python=3.10"),                           # another Python
])
def test_an_edited_spec_makes_its_lock_stale(spec_copy, edit):
    folder, config = spec_copy
    spec_file = folder / "amrcnn.yml"
    spec_file.write_text(edit(spec_file.read_text()))
    problem = locks.problem(specs.load("amrcnn", config))
    assert problem and "amrcnn.lock is stale" in problem and "fashionfail-tui env lock amrcnn" in problem


def test_a_comment_in_a_spec_leaves_its_lock_current_but_a_lock_input_in_the_post_file_does_not(spec_copy):
    folder, config = spec_copy
    (folder / "amrcnn.yml").write_text((folder / "amrcnn.yml").read_text() + "# a note\n")
    assert locks.problem(specs.load("amrcnn", config)) is None
    post = folder / "fformer.post.toml"
    post.write_text(post.read_text().replace('"ninja"]', '"ninja", "requests"]'))
    assert "stale" in locks.problem(specs.load("fformer", config))


def test_a_spec_with_pip_packages_and_no_lock_says_how_to_make_one(spec_copy):
    folder, config = spec_copy
    (folder / "facere.lock").unlink()
    assert "no lock facere.lock (run fashionfail-tui env lock facere)" in locks.problem(specs.load("facere", config))


def test_the_lock_is_part_of_the_specs_digest(spec_copy):
    """A regenerated lock makes a built environment read out of date, as an edited spec does."""
    folder, config = spec_copy
    before = specs.load("amrcnn", config).digest
    (folder / "amrcnn.lock").write_text((folder / "amrcnn.lock").read_text() + "\n")
    assert specs.load("amrcnn", config).digest != before


@pytest.mark.parametrize("text, message", [
    ("six==1.16.0\n", "six==1.16.0 has no --hash=sha256: line"),
    ("six>=1.16 \\\n    --hash=sha256:" + "0" * 64 + "\n", ":1: not a pinned requirement"),
    ("    --hash=sha256:" + "0" * 64 + "\n", ":1: an indented line before any package"),
    ("git+https://example.invalid/x.git\n", "not a pinned requirement"),
    ("six==1.16.0 \\\n    --hash=sha256:" + "0" * 64 + "\nrm -rf /\n", ":3: not a pinned requirement"),
])
def test_a_lock_that_is_not_pinned_and_hashed_is_refused_in_one_line(tmp_path, text, message):
    lock = tmp_path / "x.lock"
    lock.write_text(text)
    with pytest.raises(UserError, match=re.escape(message)):
        locks.read(lock)


def test_an_unreadable_lock_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cannot read the lock"):
        locks.read(tmp_path / "absent.lock")
    (tmp_path / "binary.lock").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError):
        locks.read(tmp_path / "binary.lock")


def test_conda_gets_the_spec_without_its_pip_section():
    """The conda backends hand conda only the conda part: the pip part is the lock, installed with uv."""
    spec = bundled("fformer")
    text = conda_part(spec)
    assert "pip:" not in text and "mmdet" not in text
    assert "  - pytorch::pytorch=1.9.0" in text and "  - pytorch" in text and f"name: {spec.name}" in text


def test_lock_inputs_are_the_pip_lines_then_the_lock_table():
    spec = bundled("fformer")
    assert locks.inputs(spec)[:len(spec.pip)] == list(spec.pip)
    assert "torch==1.9.0" in locks.inputs(spec) and "mmcv-full==1.3.18" in locks.inputs(spec)
