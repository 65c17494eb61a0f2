"""`fashionfail-tui env ...` and `fashionfail-tui doctor` as a user runs them, against a local conda channel."""

import json
import sys

import pytest

from conda_channel import build_channel, write_spec
from tui import paths
from tui.commands import main


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Config pointing the embedded backend at test specs: `tiny`, and an `amrcnn` from the test channel."""
    channel = build_channel(tmp_path)
    specs = tmp_path / "specs"
    write_spec(specs, "tiny", channel)
    write_spec(specs, "amrcnn", channel, dependencies=("hello",), post='[verify]\nfiles = ["bin/python"]\n')
    config = tmp_path / "config.toml"
    config.write_text(f'[environments]\nbackend = "embedded"\nspecs = "{specs}"\n')
    monkeypatch.setenv(paths.CONFIG_ENV, str(config))
    return specs, channel, config


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_env_list_create_verify_remove(setup, capsys):
    assert main(["env", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["backend"] == "embedded"
    assert {e["family"]: e["state"] for e in listed["environments"]} == {"amrcnn": "missing", "tiny": "missing"}

    assert main(["env", "create", "tiny", "--json"]) == 0
    events = json_lines(capsys.readouterr().out)
    assert events[-1]["event"] == "done" and events[-1]["state"] == "ready"
    assert events[-1]["prefix"] == str(paths.environments_dir() / "tiny")
    assert {"event": "line", "step": "say hello", "index": 2, "total": 5,
            "line": "hello from the test channel"} in events
    assert [e["step"] for e in events if e["event"] == "step"] == [
        "solve the conda packages", "install the conda packages", "say hello", "check installed files", "run the check command"]
    assert any(e["event"] == "progress" and 0 < e["fraction"] < 1 for e in events if e["step"] == "install the conda packages")

    assert main(["env", "verify", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "[1/2] check installed files" in out and out.strip().endswith(f"tiny (embedded): ready at {paths.environments_dir() / 'tiny'}")

    assert main(["env", "list"]) == 0  # capsys is not a terminal: Rich lays the table out in 80 columns
    listing = capsys.readouterr().out
    assert "ready" in listing
    prefix_cells = [line.split("│")[-2].strip() for line in listing.splitlines() if line.count("│") > 2]
    assert str(paths.environments_dir() / "tiny") in "".join(prefix_cells)  # wrapped, never cut short

    assert main(["env", "remove", "tiny"]) == 0
    assert "tiny (embedded): missing" in capsys.readouterr().out


def test_env_errors_are_one_line(setup, capsys):
    specs, channel, _ = setup
    write_spec(specs, "impossible", channel, dependencies=("greet >=5",))
    assert main(["env", "create", "impossible", "--json"]) == 2
    captured = capsys.readouterr()
    error = json_lines(captured.out)[-1]
    assert error["event"] == "error" and "greet >=5" in error["message"]
    assert captured.err.count("\n") == 1 and captured.err.startswith("fashionfail-tui: error: create impossible")

    assert main(["env", "create"]) == 2
    assert "needs a FAMILY (one of: amrcnn, impossible, tiny)" in capsys.readouterr().err
    assert main(["env", "verify", "tiny"]) == 2
    assert "run fashionfail-tui env create tiny" in capsys.readouterr().err
    assert main(["env", "create", "nonesuch"]) == 2
    assert "known environments: amrcnn, impossible, tiny" in capsys.readouterr().err


def test_doctor_names_each_gap_with_its_fix_and_exits_0_only_when_ready(setup, capsys, tmp_path):
    _, _, config = setup
    assert main(["doctor", "amrcnn-spine", "facere", "--json"]) == 1
    report = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    gaps = {g["what"]: g["fix"] for g in report["amrcnn-spine"]["gaps"]}
    assert gaps["environment 'amrcnn' (missing)"] == "fashionfail-tui env create amrcnn"
    assert any(what.startswith("checkpoint") and fix == "fashionfail-tui fetch amrcnn-spine" for what, fix in gaps.items())
    assert report["facere"]["environment"] == "the app's own interpreter"

    assert main(["env", "create", "amrcnn"]) == 2  # the test channel has no python
    assert "step 'check installed files' failed" in capsys.readouterr().err
    assert main(["doctor", "amrcnn-spine", "--json"]) == 1
    gaps = {g["what"]: g["fix"] for g in json.loads(capsys.readouterr().out)["models"][0]["gaps"]}
    assert gaps["environment 'amrcnn' (broken)"] == "fashionfail-tui env update amrcnn"
    (paths.environments_dir() / "amrcnn" / "bin" / "python").symlink_to(sys.executable)
    assert main(["env", "update", "amrcnn"]) == 0
    capsys.readouterr()
    assert main(["doctor", "amrcnn-spine"]) == 1
    text = capsys.readouterr().out
    assert "runs in amrcnn (embedded: ready)" in text and "environment" not in text.split("runs in")[1].split("\n", 1)[1]

    weights = tmp_path / "facere_base.onnx"
    weights.write_bytes(b"onnx")
    config.write_text(config.read_text() + f'\n[models.facere]\nfile = "{weights}"\n')
    assert main(["doctor", "facere"]) == 0
    assert "facere: ready" in capsys.readouterr().out
