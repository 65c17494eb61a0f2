"""What the command line says, word for word: fixes that name a config table, counts of one, and
"did you mean" for a mistyped command, model or choice."""

import json

import pytest

from tui import paths
from tui.commands import main
from tui.units import counted


def test_a_fix_naming_a_config_table_keeps_its_name(tmp_path, capsys, monkeypatch):
    """`[models.facere]` is text, not rich markup: it once vanished, leaving "fix  file in"."""
    monkeypatch.setenv("COLUMNS", "300")
    paths.config_file().write_text(f'[models.facere]\nfile = "{tmp_path / "gone.onnx"}"\n')
    assert main(["doctor", "facere"]) == 1
    out = capsys.readouterr().out
    assert f"    fix: put the file there or fix [models.facere] file in {paths.config_file()}\n" in out


@pytest.mark.parametrize(("argv", "said"), [
    (["modles"], "argument COMMAND: invalid choice: 'modles' (did you mean 'models'?); choose from 'models', "),
    (["doctor", "facre"], "unknown model 'facre' (did you mean 'facere'?); known models: amrcnn-spine, "),
    (["fetch", "facre+"], "unknown model 'facre+' (did you mean 'facere+'?); known models: "),
    (["eval", "x.npz", "--iou", "bbx"], "argument --iou: invalid choice: 'bbx' (did you mean 'bbox'?); choose from "),
    (["env", "lsit"], "argument action: invalid choice: 'lsit' (did you mean 'list'?); choose from "),
])
def test_a_typo_gets_did_you_mean(capsys, argv, said):
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"fashionfail-tui: error: {said}")


def test_nothing_close_gets_no_guess(capsys):
    assert main(["frobnicate"]) == 2
    assert "did you mean" not in capsys.readouterr().err
    assert main(["doctor", "yolo"]) == 2
    assert capsys.readouterr().err.startswith("fashionfail-tui: error: unknown model 'yolo'; known models: ")


def test_counts_of_one_are_singular():
    assert [counted(n, "image") for n in (0, 1, 2, 1234)] == ["0 images", "1 image", "2 images", "1,234 images"]
    assert counted(1, "category", "categories") == "1 category" and counted(3, "category", "categories") == "3 categories"


def test_env_list_says_facere_can_do_without_its_environment(capsys, monkeypatch):
    """doctor calls facere ready without it: env list must not read as if it were needed."""
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["env", "list"]) == 0
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[1:-1]]
            for line in capsys.readouterr().out.splitlines() if line.startswith("│")}
    assert rows["facere"][3:5] == ["missing (optional)", "facere models: the app's own interpreter until this is built"]
    assert rows["amrcnn"][3:5] == ["missing", "amrcnn models"]
    assert main(["env", "list", "--json"]) == 0
    listed = {e["family"]: e for e in json.loads(capsys.readouterr().out)["environments"]}
    assert (listed["facere"]["optional"], listed["amrcnn"]["optional"], listed["amrcnn-tf215"]["optional"]) == \
        (True, False, False)
    assert main(["doctor", "facere"]) == 1
    assert capsys.readouterr().out.startswith("facere: not ready, runs in the app's own interpreter\n")
