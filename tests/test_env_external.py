"""What a model family runs in: an interpreter the user already has (`env use FAMILY PYTHON`,
`[envs.FAMILY] python`) or a variant spec (`env use amrcnn amrcnn-tf215`, `[envs.FAMILY] spec`).

The external interpreters are real: virtual environments of the test's own Python, a shell wrapper
around one, and hostile programs that are not Pythons. The specs are test specs whose check imports
a module the test puts into (or takes out of) the external environment.
"""

import json
import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tui import paths
from tui.catalog import get
from tui.commands import main
from tui.config import EnvChoice, load, write_env_choice
from tui.environments import external, python_for
from tui.errors import UserError
from tui.runs.request import interpreter_for

CHECKED = "fashionfail_check_module"
ORIGINAL_CONFIG = '# my settings\n[environments]\nbackend = "embedded"  # no conda here\nspecs = "{specs}"\n'
SPEC = "name: fashionfail-{name}\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.9\n"
CHECK = f'[verify]\nfiles = ["bin/python"]\nrun = ["{{python}}", "-c", "import {CHECKED}"]\n'
NOTE = "TensorFlow 2.15, not the paper's TensorFlow (2.11)"


@pytest.fixture
def config_file(tmp_path):
    """Test specs (amrcnn, its variant amrcnn-tf215, facere) and a config with comments to keep."""
    specs = tmp_path / "specs"
    specs.mkdir()
    for name, post in (("amrcnn", CHECK), ("facere", CHECK),
                       ("amrcnn-tf215", f'variant_of = "amrcnn"\nnote = "{NOTE}"\n{CHECK}')):
        (specs / f"{name}.yml").write_text(SPEC.format(name=name))
        (specs / f"{name}.post.toml").write_text(post)
    paths.config_file().write_text(ORIGINAL_CONFIG.format(specs=specs))
    return paths.config_file()


def make_venv(where: Path, with_module: bool = True) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    if with_module:
        add_module(where)
    return where / "bin" / "python"


def add_module(venv: Path) -> None:
    (next(venv.glob("lib/python*/site-packages")) / f"{CHECKED}.py").write_text("")


def remove_module(venv: Path) -> None:
    (next(venv.glob("lib/python*/site-packages")) / f"{CHECKED}.py").unlink()


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fashionfail-tui: error: ") and "Traceback" not in err, err
    return err.strip()


def test_env_use_checks_the_interpreter_and_writes_the_config_only_when_it_passes(config_file, tmp_path, capsys):
    venv = tmp_path / "amrcnn-env"
    python = make_venv(venv, with_module=False)
    before = config_file.read_text()
    assert main(["env", "use", "amrcnn", str(python)]) == 2
    assert f"No module named '{CHECKED}'; the config is unchanged" in one_error_line(capsys)
    assert config_file.read_text() == before

    add_module(venv)
    assert main(["env", "use", "amrcnn", str(python)]) == 0
    assert capsys.readouterr().out.startswith(f"amrcnn models now run in {python}, external: ready")
    text = config_file.read_text()
    assert text.startswith(before) and tomllib.loads(text)["envs"]["amrcnn"] == {"python": str(python)}
    assert python_for(get("amrcnn-spine"), load()) == python  # as given: a venv's python is a symlink out of it

    assert main(["doctor", "amrcnn-spine", "--json"]) == 1  # no checkpoint, no source tree
    report = json.loads(capsys.readouterr().out)["models"][0]
    assert report["environment"] == f"amrcnn (external: ready, {python})"
    assert not [g for g in report["gaps"] if "environment" in g["what"]]

    assert main(["env", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["environments"]
    used = [row for row in rows if row["runs"] == "amrcnn"]
    assert used == [{**used[0], "family": "amrcnn", "backend": "external", "state": "ready", "python": str(python)}]
    assert next(row for row in rows if row["family"] == "amrcnn" and row["backend"] == "embedded")["runs"] is None

    remove_module(venv)  # the environment changes under the app: doctor checks again
    assert main(["doctor", "amrcnn-spine", "--json"]) == 1
    gaps = {g["what"]: g["fix"] for g in json.loads(capsys.readouterr().out)["models"][0]["gaps"]}
    what = f"environment 'amrcnn' (external: ModuleNotFoundError: No module named '{CHECKED}')"
    assert gaps[what] == f"install what is missing into that environment, then check it again: " \
                         f"fashionfail-tui env use amrcnn {python}"
    with pytest.raises(UserError, match=rf"amrcnn-spine runs in {python} \(the config's \[envs.amrcnn\] python\), "
                                        rf"which cannot run it: ModuleNotFoundError"):
        interpreter_for(get("amrcnn-spine"), load())


def test_a_shell_wrapper_around_a_python_is_an_interpreter_too(config_file, tmp_path, capsys):
    python = make_venv(tmp_path / "env")
    wrapper = executable(tmp_path / "python-wrapper", f'#!/bin/sh\nexec "{python}" "$@"\n')
    assert main(["env", "use", "facere", str(wrapper)]) == 0
    assert python_for(get("facere"), load()) == wrapper
    assert load().env_choice_for("facere") == EnvChoice(python=wrapper)


def test_the_check_is_kept_and_done_again_when_the_environment_changes(config_file, tmp_path):
    venv = tmp_path / "env"
    python = make_venv(venv)
    config_file.write_text(config_file.read_text() + f'[envs.amrcnn]\npython = "{python}"\n')
    assert python_for(get("amrcnn-spine"), load()) == python
    checked = json.loads(external.record_file("amrcnn").read_text())
    assert python_for(get("amrcnn-spine"), load()) == python
    assert json.loads(external.record_file("amrcnn").read_text()) == checked  # kept: not checked again
    external.status("amrcnn", python, load(), checked_since=time.time())  # what doctor asks: checked again
    assert json.loads(external.record_file("amrcnn").read_text())["checked_at"] > checked["checked_at"]
    remove_module(venv)  # site-packages changed: checked again
    assert python_for(get("amrcnn-spine"), load()) is None
    add_module(venv)
    assert python_for(get("amrcnn-spine"), load()) == python
    python.unlink()  # another interpreter at the same path: checked again
    executable(python, "#!/bin/sh\nexit 1\n")
    assert python_for(get("amrcnn-spine"), load()) is None


@pytest.mark.parametrize("case, expected", [
    ("missing", "{path} does not exist; the config is unchanged"),
    ("folder", "{path} is not an executable file; the config is unchanged"),
    ("not executable", "{path} is not an executable file; the config is unchanged"),
    ("not a python", "{path} is not a Python interpreter (it did not answer a Python probe); the config is unchanged"),
    ("a shell script that fails", "{path} is not a Python interpreter (it did not answer a Python probe)"),
    ("no interpreter line", "{path} cannot be run: Exec format error"),
    ("too old", "{path} is Python 3.7.1; the runners need 3.8 or newer; the config is unchanged"),
])
def test_what_is_no_usable_python_is_refused_in_one_line(config_file, tmp_path, capsys, case, expected):
    path = tmp_path / "bin" / "python"
    path.parent.mkdir()
    if case == "folder":
        path.mkdir()
    elif case == "not executable":
        path.write_text("#!/bin/sh\n")
    elif case == "not a python":
        executable(path, '#!/bin/sh\necho "hello $*"\n')
    elif case == "a shell script that fails":
        executable(path, "#!/bin/sh\nexit 3\n")
    elif case == "no interpreter line":
        executable(path, "\x7fELF not really\n")
    elif case == "too old":  # answers the probe as a Python 3.7 would
        executable(path, """#!/bin/sh\necho '{"fashionfail_probe": 1, "version": "3.7.1", "prefix": "/x"}'\n""")
    before = config_file.read_text()
    assert main(["env", "use", "amrcnn", str(path)]) == 2
    assert expected.format(path=path) in one_error_line(capsys)
    assert config_file.read_text() == before


def test_names_that_are_neither_a_spec_nor_a_python_are_refused(config_file, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["env", "use", "amrcnn", "python3.9"]) == 2
    assert "'python3.9' is neither an environment of amrcnn (amrcnn, amrcnn-tf215) nor a Python interpreter on PATH" \
        in one_error_line(capsys)
    assert main(["env", "use", "fformer", "x"]) == 2  # the test specs have no fformer
    assert "env use needs a model family (amrcnn, facere), not 'fformer'" in one_error_line(capsys)
    assert main(["env", "use", "amrcnn"]) == 2
    assert "needs a PYTHON (an interpreter's path) or a SPEC (amrcnn, amrcnn-tf215)" in one_error_line(capsys)
    assert main(["env", "create", "amrcnn", "extra"]) == 2
    assert "env create takes one FAMILY, not also 'extra'" in one_error_line(capsys)


def test_a_config_python_that_went_away_is_named_with_its_fix(config_file, tmp_path, capsys):
    gone = tmp_path / "gone" / "bin" / "python"
    config_file.write_text(config_file.read_text() + f'\n[envs.amrcnn]\npython = "{gone}"\n')
    assert main(["doctor", "amrcnn-r50-fpn", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)["models"][0]
    assert report["environment"] == f"amrcnn (external: missing, {gone})"
    gaps = {g["what"]: g["fix"] for g in report["gaps"]}
    assert gaps[f"environment 'amrcnn' (external: {gone} does not exist)"] == \
        "fashionfail-tui env use amrcnn PYTHON (or correct [envs.amrcnn] python in the config)"


def test_a_variant_spec_is_chosen_marked_and_unchosen(config_file, capsys):
    assert main(["env", "use", "amrcnn", "amrcnn-tf215"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"amrcnn models now run in amrcnn-tf215, embedded: missing (config: {config_file})",
        f"note: {NOTE}", "build it with: fashionfail-tui env create amrcnn-tf215"]
    assert load().env_choice_for("amrcnn") == EnvChoice(spec="amrcnn-tf215")

    assert main(["doctor", "amrcnn-spine"]) == 1
    out = capsys.readouterr().out
    assert f"runs in amrcnn-tf215 (embedded: missing)\n  note: {NOTE}\n" in out
    assert "missing environment 'amrcnn-tf215' (missing)\n    fix: fashionfail-tui env create amrcnn-tf215" in out
    assert main(["env", "list", "--json"]) == 0
    runs = {row["family"]: row["runs"] for row in json.loads(capsys.readouterr().out)["environments"]}
    assert runs == {"amrcnn": None, "facere": "facere", "amrcnn-tf215": "amrcnn"}

    assert main(["env", "use", "amrcnn", "amrcnn"]) == 0  # back to the family's own spec
    assert "[envs" not in config_file.read_text() and config_file.read_text().startswith(ORIGINAL_CONFIG[:40])
    assert load().env_choice_for("amrcnn") == EnvChoice()


def test_a_config_spec_that_is_no_variant_of_the_family_is_one_line(config_file, capsys):
    config_file.write_text(config_file.read_text() + '[envs.amrcnn]\nspec = "facere"\n')
    assert main(["doctor", "amrcnn-spine"]) == 2
    assert f"config file {config_file}:5: [envs.amrcnn] spec = 'facere' is not an environment of amrcnn " \
           "(choose one of: amrcnn, amrcnn-tf215)" in one_error_line(capsys)


@pytest.mark.parametrize("table, message", [
    ('[envs.nonesuch]\nspec = "x"\n', ":1: [envs.nonesuch] must be a table named after a model family (amrcnn, fformer, facere)"),
    ('[envs.amrcnn]\npyhton = "/x"\n', ":1: [envs.amrcnn] has an unknown key 'pyhton' (known: spec, python)"),
    ('\n[envs.amrcnn]\npython = "bin/python"\n', ":3: [envs.amrcnn] python must be an absolute path, not 'bin/python'"),
    ('[envs.amrcnn]\npython = 3\n', ":2: 'python' has the wrong type (int)"),
])
def test_bad_envs_tables_name_the_line(tmp_path, table, message):
    path = tmp_path / "config.toml"
    path.write_text(table)
    with pytest.raises(UserError) as caught:
        load(path)
    assert str(caught.value) == f"config file {path}{message}"


def test_writing_the_choice_keeps_the_file_a_symlink_and_its_permissions(tmp_path):
    real = tmp_path / "dotfiles" / "config.toml"
    real.parent.mkdir()
    real.write_text('[run]\ndevice = "cpu"  # my choice\n')
    real.chmod(0o600)
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    assert write_env_choice("fformer", EnvChoice(python=Path("/opt/envs/fformer/bin/python")), link) == real
    assert link.is_symlink() and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_text() == '[run]\ndevice = "cpu"  # my choice\n\n[envs.fformer]\npython = "/opt/envs/fformer/bin/python"\n'
    assert [p.name for p in real.parent.iterdir()] == ["config.toml"]  # no temporary file left


@pytest.mark.parametrize("text, message", [
    ("[run\n", "config file {path}:1:"),  # broken as it is: refused before anything is written
    ('envs = {fformer = {python = "/x"}}\n', "cannot update {path}: its [envs] is written in a form this cannot edit"),
])
def test_a_config_that_cannot_be_edited_is_left_alone(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        write_env_choice("amrcnn", EnvChoice(spec="amrcnn-tf215"), path)
    assert str(caught.value).startswith(message.format(path=path)) and "\n" not in str(caught.value)
    assert path.read_text() == text and os.listdir(tmp_path) == ["config.toml"]


async def test_the_home_screen_shows_an_external_environment_and_a_variants_note(config_file, tmp_path):
    from tests.helpers.pilot import wait_for
    from tui.app import FashionFailApp

    python = make_venv(tmp_path / "env")
    original = config_file.read_text()
    config_file.write_text(original + f'[envs.amrcnn]\npython = "{python}"\n')
    app = FashionFailApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.models_table.row_count)
        assert str(app.screen.models_table.get_row("amrcnn-spine")[3]) == f"amrcnn (external: ready, {python})"
        detail = str(app.screen.detail.render())
        assert "environment" not in detail.split("Missing", 1)[-1]  # only the checkpoint and the tree

    config_file.write_text(original + '[envs.amrcnn]\nspec = "amrcnn-tf215"\n')
    app = FashionFailApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.models_table.row_count)
        assert str(app.screen.models_table.get_row("amrcnn-spine")[3]) == "amrcnn-tf215 (embedded: missing)"
        detail = str(app.screen.detail.render())
        assert f"runs in amrcnn-tf215 (embedded: missing): {NOTE}" in detail
        assert "fashionfail-tui env create amrcnn-tf215" in detail


def test_the_setup_wizard_builds_the_chosen_variant_and_never_an_external_environment(config_file, tmp_path):
    from tui.setup.wizard import environments_for

    models = [get("amrcnn-spine"), get("amrcnn-r50-fpn"), get("facere")]  # facere needs no environment
    original = config_file.read_text()
    assert environments_for(models, load()) == ["amrcnn"]
    config_file.write_text(original + '[envs.amrcnn]\nspec = "amrcnn-tf215"\n')
    assert environments_for(models, load()) == ["amrcnn-tf215"]
    config_file.write_text(original + f'[envs.amrcnn]\nspec = "amrcnn-tf215"\npython = "{tmp_path / "python"}"\n')
    assert environments_for(models, load()) == []
