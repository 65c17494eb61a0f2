import subprocess
import sys
from pathlib import Path

from tests.helpers.onnx_models import build_maskrcnn_like
from tui import paths
from tui.commands import main

ROOT = Path(__file__).resolve().parents[1]


def test_a_closed_pipe_is_not_a_traceback():
    # `fashionfail-tui models --json | head -c 10`: the reader leaves before the writer is done.
    producer = subprocess.Popen([sys.executable, "-m", "tui", "models", "--json"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    producer.stdout.close()
    _, stderr = producer.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert producer.returncode in (0, 141)


def test_unknown_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "tui", "frobnicate"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'frobnicate'" in result.stderr


def test_a_cache_or_data_folder_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    not_a_folder = build_maskrcnn_like(tmp_path / "model.onnx")
    for variable in (paths.CACHE_ENV, paths.DATA_ENV):
        monkeypatch.setenv(variable, str(not_a_folder))
        assert main(["fetch", "facere", "--from", str(not_a_folder)]) == 2
        assert capsys.readouterr().err == f"fashionfail-tui: error: {variable}={not_a_folder} is a file, not a folder\n"
        monkeypatch.setenv(variable, str(tmp_path / variable))
