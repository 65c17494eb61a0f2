"""What the app remembers between starts (data_dir()/state.json): written whole, read defensively."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tui import paths
from tui.config import Remembered, load_remembered, save_remembered


def write_state(content: bytes | str) -> Path:
    target = paths.state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    return target


def test_what_is_saved_is_what_the_next_start_reads(tmp_path):
    assert load_remembered() == Remembered()  # nothing saved yet
    saved = Remembered(images_dir=tmp_path / "images", out_dir=tmp_path / "out ü", model_file=None,
                       theme="nord")
    save_remembered(saved)
    assert load_remembered() == saved
    assert json.loads(paths.state_file().read_text(encoding="utf-8"))["out_dir"] == str(tmp_path / "out ü")
    assert [p.name for p in paths.state_file().parent.iterdir()] == ["state.json"]  # no temporary left


def test_a_folder_name_that_is_not_utf_8_is_saved_without_error_and_not_read_back(tmp_path):
    odd = Path(os.fsdecode(bytes(tmp_path / "images") + b"\xff"))  # a surrogate escape in the str
    save_remembered(Remembered(images_dir=odd, out_dir=tmp_path))
    assert load_remembered() == Remembered(out_dir=tmp_path)


HOSTILE_CONTENTS = {
    "not json": "{images_dir: /tmp",
    "not utf-8": b"\xff\xfe{\"theme\": \"nord\"}",
    "a list": "[1, 2, 3]",
    "null": "null",
    "nested too deep": "[" * 30_000 + "]" * 30_000,  # under the size limit
    "an integer too long": "1" * 50_000,
    "too large": json.dumps({"theme": "nord", "padding": "x" * 2_000_000}),
    "empty": "",
}


@pytest.mark.parametrize("content", HOSTILE_CONTENTS.values(), ids=HOSTILE_CONTENTS.keys())
def test_a_broken_state_file_means_nothing_remembered(content):
    write_state(content)
    assert load_remembered() == Remembered()


def test_bad_values_are_dropped_and_the_good_ones_kept(tmp_path):
    write_state(json.dumps({
        "images_dir": str(tmp_path / "images"),
        "out_dir": 5,                              # not text
        "model_file": "relative/model.onnx",       # not an absolute path: where would it be?
        "theme": "nord\x1b[31m",                   # a terminal escape in what the app shows
        "unknown": {"ignored": True},
    }))
    assert load_remembered() == Remembered(images_dir=tmp_path / "images")
    write_state(json.dumps({"images_dir": "/tmp/a\x00b", "out_dir": "/" + "x" * 10_000, "theme": ["nord"]}))
    assert load_remembered() == Remembered()


@pytest.mark.parametrize("kind", ["folder", "fifo", "link to /dev/zero", "dangling link"])
def test_a_state_file_that_is_not_a_file_is_ignored_without_blocking(kind):
    target = paths.state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)  # reading would wait for a writer forever
    elif kind == "link to /dev/zero":
        target.symlink_to("/dev/zero")  # reading would never end
    else:
        target.symlink_to(target.parent / "nowhere")
    result: list[Remembered] = []
    reader = threading.Thread(target=lambda: result.append(load_remembered()), daemon=True)
    reader.start()
    reader.join(5)
    assert result == [Remembered()]


def test_saving_where_the_state_file_cannot_be_written_raises_oserror_and_leaves_no_temporary():
    paths.state_file().mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(OSError):
        save_remembered(Remembered(theme="nord"))
    assert [p.name for p in paths.state_file().parent.iterdir()] == ["state.json"]
