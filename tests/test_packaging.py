"""A plain `pip install .` builds a wheel: runners/ and envs/ must ship inside it and be found there."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the test extra has it)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True)
    return next(out.glob("fashionfail_tui-*.whl"))


def test_wheel_carries_the_runners_the_env_specs_and_the_stylesheet(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for runner in ("protocol.py", "common.py", "run_files.py", "facere.py", "amrcnn.py", "fformer.py"):
        assert f"tui/_bundled/runners/{runner}" in names
    assert any(n.startswith("tui/_bundled/envs/") and n.endswith(".yml") for n in names)
    assert "tui/app.tcss" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "fashionfail-tui = tui.commands:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_package_finds_its_bundled_runners(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    probe = "import json, tui.paths as p; print(json.dumps([str(p.runners_dir()), str(p.envs_specs_dir())]))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")},
                            capture_output=True, text=True, check=True)
    runners, envs = json.loads(result.stdout)
    assert runners == str(tmp_path / "site" / "tui" / "_bundled" / "runners")
    assert (Path(runners) / "facere.py").is_file() and Path(envs).is_dir()
