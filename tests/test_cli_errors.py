"""Every command fails the same way: usage errors and bad inputs end in one `fashionfail-tui: error:` line
and exit status 2, never a traceback or a path inside the package; every help text reads cleanly."""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

import prediction_files as pf
from tests.helpers.runs import ROOT, cli
from tui import paths
from tui.commands import build_parser, main

PREFIX = "fashionfail-tui: error: "


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices if actions else {}


def _leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command line that ends in a parser with no subcommands below it: ("models",), ("cluster", "submit"), ..."""
    children = _subparsers(parser)
    if not children:
        return [path]
    return [leaf for name, child in children.items() for leaf in _leaf_commands(child, (*path, name))]


def _all_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for name, child in _subparsers(parser).items():
        yield from _all_parsers(child, (*path, name))


LEAVES = _leaf_commands(build_parser())


def _help_entries(text: str) -> list[str]:
    """One string per argument of a help text, its wrapped lines joined."""
    entries: list[str] = []
    for line in text.splitlines():
        if re.match(r"^  \S", line):
            entries.append(line.strip())
        elif re.match(r"^   +\S", line) and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append("")  # a heading or a blank line ends an entry
    return [e for e in entries if e]


def test_no_help_says_default_none_or_gives_two_defaults():
    checked = 0
    for path, parser in _all_parsers(build_parser()):
        text = parser.format_help()
        assert "(default: None)" not in text, path
        for entry in _help_entries(text):
            checked += 1
            assert len(re.findall(r"\bdefault\b", entry)) <= 1, (path, entry)
    assert checked > 60  # every command's arguments were looked at, not a few headings


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line]


@pytest.mark.parametrize("command", LEAVES, ids=" ".join)
def test_a_bad_argument_is_the_commands_usage_then_one_error_line(command, capsys):
    assert main([*command, "--no-such-option"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0].startswith(f"usage: fashionfail-tui {' '.join(command)} ")
    assert _error_lines(captured.err) == [lines[-1]] and lines[-1].startswith(PREFIX)
    assert captured.out == ""


def test_unknown_options_name_themselves_under_their_commands_usage(capsys):
    assert main(["models", "--no-such-option"]) == 2
    assert capsys.readouterr().err == ("usage: fashionfail-tui models [-h] [--json]\n"
                                       f"{PREFIX}unrecognized arguments: --no-such-option\n")


def test_a_usage_error_under_json_is_also_an_error_event(capsys):
    assert main(["models", "--json", "--no-such-option"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"event": "error", "message": "unrecognized arguments: --no-such-option"}
    assert captured.err.splitlines()[-1] == f"{PREFIX}unrecognized arguments: --no-such-option"


def test_a_bad_value_is_named_with_its_option(capsys):
    assert main(["eval", "--iou", "bad", "x.npz"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"{PREFIX}argument --iou: invalid choice: 'bad' (choose from 'bbox', 'segm', 'both')"


@pytest.fixture
def bad_inputs(tmp_path):
    """command -> arguments that reach the command and fail there, on input the user gave."""
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a prediction file")
    missing = tmp_path / "missing.npz"
    return {
        "models": ["models", "--json"],  # with a broken config file: see _run
        "fetch": ["fetch", "facere", "--from", junk],
        "run": ["run", "facere", "--images", tmp_path / "no-images", "--out", tmp_path / "out"],
        "cache": ["cache", "clean", "no-such-model"],
        "dataset": ["dataset", "fetch", "--workers", "0"],
        "merge": ["merge", junk, "--out", tmp_path / "merged.npz"],
        "env": ["env", "create", "no-such-family"],
        "doctor": ["doctor", "no-such-model"],
        "cluster": ["cluster", "status", "4242"],
        "eval": ["eval", junk, "--anns", tmp_path / "missing.json"],
        "gpu": ["gpu", "--watch", "0"],
        "inspect": ["inspect", junk],
        "browse": ["browse", missing],
        "failures": ["failures", junk, "--anns", tmp_path / "missing.json"],
        "export": ["export", junk, "--format", "csv", "--out", tmp_path / "out.csv"],
        "compare": ["compare", "--images", tmp_path / "no-images", "--out", tmp_path / "out", "--models", "facere"],
    }


def _run(arguments: list, tmp_path: Path, monkeypatch) -> subprocess.CompletedProcess:
    if arguments[0] == "models":  # models reads nothing the user names but the config file
        (tmp_path / "config.toml").write_text("[run\n")
        monkeypatch.setenv("FASHIONFAIL_TUI_CONFIG", str(tmp_path / "config.toml"))
    return cli(*arguments, check=False)


def test_every_command_has_a_bad_input_below(bad_inputs):
    assert set(bad_inputs) == {command[0] for command in LEAVES}


@pytest.mark.parametrize("command", sorted({leaf[0] for leaf in LEAVES}))
def test_a_bad_input_is_one_line_exit_2_and_no_path_inside_the_package(command, bad_inputs, tmp_path, monkeypatch):
    result = _run(bad_inputs[command], tmp_path, monkeypatch)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(PREFIX), result.stderr
    for output in (result.stdout, result.stderr):
        assert str(ROOT) not in output and "site-packages" not in output and "Traceback" not in output


def _takes_json(arguments: list) -> bool:
    parser = build_parser()
    for word in map(str, arguments):
        parser = _subparsers(parser).get(word, parser)
    return "--json" in parser._option_string_actions


@pytest.mark.parametrize("command", sorted({leaf[0] for leaf in LEAVES}))
def test_under_json_a_bad_input_is_also_an_error_event(command, bad_inputs, tmp_path, monkeypatch):
    arguments = bad_inputs[command]
    if not _takes_json(arguments):
        pytest.skip(f"{command} has no --json")
    result = _run([*arguments, *(["--json"] if "--json" not in arguments else [])], tmp_path, monkeypatch)
    assert result.returncode == 2
    assert json.loads(result.stdout.splitlines()[-1]) == \
        {"event": "error", "message": result.stderr.removeprefix(PREFIX).rstrip("\n")}


def _hostile_pickle(marker: Path) -> bytes:
    class RunsCode:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    return pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array([RunsCode()]), protocol=3))


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "junk", "truncated", "hostile"])
def test_browse_checks_its_files_before_the_app_starts(kind, tmp_path):
    marker = tmp_path / "pwned"
    file = tmp_path / "predictions.npz"
    if kind == "folder":
        file.mkdir()
    elif kind == "empty":
        file.write_bytes(b"")
    elif kind == "junk":
        file.write_bytes(b"\x00 not a prediction file")
    elif kind == "truncated":
        file.write_bytes(pf.write_npz(tmp_path / "whole.npz", pf.facere_records()).read_bytes()[:300])
    elif kind == "hostile":
        pf.write_zip(file, {"data.npy": _hostile_pickle(marker)})
    # stdin and stdout are no terminal, as under a test runner: an app that started would draw
    # escape codes on stdout and wait for keys until the timeout.
    result = subprocess.run([sys.executable, "-m", "tui", "browse", str(file)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (result.returncode, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(PREFIX + str(file)), result.stderr
    assert not marker.exists()


def test_a_spec_folder_the_user_configured_is_named_in_errors(tmp_path, monkeypatch, capsys):
    specs = tmp_path / "specs"
    specs.mkdir()
    (tmp_path / "config.toml").write_text(f'[environments]\nspecs = "{specs}"\n')
    monkeypatch.setenv("FASHIONFAIL_TUI_CONFIG", str(tmp_path / "config.toml"))
    assert main(["env", "create", "tiny"]) == 2
    assert capsys.readouterr().err == f"{PREFIX}no environment 'tiny' (no {specs / 'tiny.yml'}); known environments: none\n"


def test_a_bug_is_one_line_without_package_paths_and_its_traceback_goes_to_the_logs(monkeypatch, capsys):
    from tui.commands import models

    def broken_execute(args):  # a bug nobody has found yet, stood in by one that names a bundled file
        raise FileNotFoundError(f"no such file: '{paths.runners_dir() / 'common.py'}'")

    monkeypatch.setattr(models, "execute", broken_execute)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(ROOT) not in err
    message, log = re.fullmatch(r"(.*) \(a bug in fashionfail-tui; its traceback is in (.*)\)\n", err).groups()
    assert message == f"{PREFIX}unexpected FileNotFoundError: no such file: 'runners/common.py'"
    traceback = Path(log).read_text()
    assert Path(log).parent == paths.logs_dir() and "Traceback" in traceback and "broken_execute" in traceback
