import subprocess
import sys
from pathlib import Path

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
