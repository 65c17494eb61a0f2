"""Every other JSON the app reads back from disk (records, remembered state, caches, manifests, the
partial-download sidecar) is read with the same limits as annotation files: a file nested 200,000
deep, a list where an object belongs, values of the wrong type or a file far too large read as
corrupt (ignored, rebuilt, or one line), never as "unexpected ... (a bug)"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui import paths
from tui.errors import UserError

DEEP = "[" * 200_000 + "]" * 200_000
HOSTILE = {
    "nested 200,000 deep": DEEP,
    "deep inside an object": '{"files": ' + DEEP + ', "images": ' + DEEP + "}",
    "a list": "[1, 2, 3]",
    "values of the wrong types": '{"files": [1], "images": 3, "key": [], "evaluation": 5, "step": [], '
                                 '"submissions": 7, "record": 9, "digest": {}, "format": [], "ok": "yes"}',
    "not UTF-8": b"\xff\xfe{}",
}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.fixture(params=sorted(HOSTILE))
def hostile(request) -> str | bytes:
    return HOSTILE[request.param]


def test_the_downloads_manifest(hostile):
    from tui.downloads import manifest
    write(manifest.manifest_file(), hostile)
    assert manifest.get(paths.checkpoints_dir() / "facere_base.onnx") is None


def test_the_wizard_state(hostile):
    from tui.setup import wizard
    write(wizard.state_file(), hostile)
    assert wizard.load_state() == wizard.WizardState()


def test_an_environments_markers(hostile, tmp_path):
    from tui import config
    from tui.environments import specs
    from tui.environments.base import State, state_of
    from tui.environments.operation import MARKERS
    spec = specs.load("amrcnn", config.load())
    prefix = tmp_path / "env"
    write(prefix / MARKERS / "ready.json", hostile)
    state, reason = state_of(spec, prefix)
    assert state is State.BROKEN and "\n" not in reason and len(reason) < 200
    (prefix / MARKERS / "ready.json").unlink()
    write(prefix / MARKERS / "broken.json", hostile)
    state, reason = state_of(spec, prefix)
    assert state is State.BROKEN and "\n" not in reason and len(reason) < 200


def test_an_external_environments_record(hostile):
    from tui.environments import external
    write(external.record_file("fformer"), hostile)
    assert external._read_record("fformer") is None


def test_the_facere_fast_plan(hostile, tmp_path):
    from tui.runs import facere_fast
    assert facere_fast._read_plan(write(tmp_path / "plan.json", hostile), "0" * 64) is None


def test_a_cluster_record_and_the_job_index(hostile, tmp_path):
    from tui.cluster import record
    from tui.cluster.status import read_progress
    path = write(tmp_path / "out" / f"job{record.RECORD_SUFFIX}", hostile)
    with pytest.raises(UserError) as caught:
        record.ClusterJob.load(path)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400
    write(record.jobs_index_dir() / "1234.json", hostile)
    with pytest.raises(UserError):
        record.find("1234")
    assert record.known_jobs() == []
    assert read_progress(write(tmp_path / "progress.json", hostile)) is None


def test_the_dataset_verified_record(hostile):
    from tui.dataset.record import VerifiedRecord, record_file
    write(record_file("test"), hostile)
    assert VerifiedRecord("test").images == {}


def test_an_evaluation_cached_beside_a_prediction_file(hostile, tmp_path):
    from tui.evaluation import cache
    key = cache.CacheKey("a" * 64, "b" * 64, "bbox", "")
    predictions = tmp_path / "facere.npz"
    write(key.path_beside(predictions), hostile)
    assert cache.read(predictions, key, tmp_path / "anns.json") is None


def test_a_partial_downloads_sidecar_restarts_the_download(hostile, tmp_path):
    from fileserver import FileServer

    from tui.downloads.http import download
    target = tmp_path / "f.bin"
    write(target.with_name("f.bin.part"), b"junk")
    write(target.with_name("f.bin.part.json"), hostile)
    with FileServer() as server:
        server.serve("/f", b"body" * 100)
        download(server.url("/f"), target)
        assert "range" not in server.requests_for("/f")[0]
    assert target.read_bytes() == b"body" * 100


def test_the_remembered_state(hostile):
    from tui import config
    write(paths.state_file(), hostile)
    assert config.load_remembered() == config.Remembered()


def test_a_record_far_too_large_is_not_read(monkeypatch):
    from tui import outside_json
    from tui.setup import wizard
    monkeypatch.setattr(outside_json, "RECORD_MAX_BYTES", 1000)
    write(wizard.state_file(), '{"step": "models", "padding": "' + "x" * 2000 + '"}')
    assert wizard.load_state() == wizard.WizardState()


def test_commands_that_read_these_records_end_normally(hostile, capsys):
    """`models`, `dataset status` and `cluster status` over every record broken at once."""
    from tui.cluster import record
    from tui.commands import main
    from tui.dataset.record import record_file
    from tui.downloads import manifest
    write(manifest.manifest_file(), hostile)
    write(record_file("test"), hostile)
    write(record.jobs_index_dir() / "77.json", hostile)
    for argv in (["models"], ["dataset", "status"], ["cluster", "status"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 1, 2) and "unexpected" not in err and "Traceback" not in err, (argv, err)
    assert os.path.exists(manifest.manifest_file())


def test_a_runners_journal_nested_deeply_starts_over(hostile, tmp_path, monkeypatch):
    """The runners read their journal themselves (Python 3.8, nothing from tui/)."""
    import sys
    monkeypatch.syspath_prepend(str(paths.runners_dir()))
    sys.modules.pop("common", None)
    import common
    output = str(tmp_path / "facere.npz")
    header = {"settings": {"model": "facere"}}
    content = hostile if isinstance(hostile, bytes) else hostile.encode()
    write(Path(output + ".journal"), content + b"\n")
    assert common.Journal(output, header).resume() == 0
    line = b'{"image_file": "a.jpg"}'
    import json
    write(Path(output + ".journal"), json.dumps(header).encode() + b"\n" + line + b"\n" + content + b"\n")
    assert common.Journal(output, header).resume() == 1  # the good entry is kept, the rest dropped


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


VALUES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ax\n', max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=3), children, max_size=3),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, limit=st.integers(0, 8))
def test_the_nesting_check_counts_depth_exactly_whatever_the_strings_hold(value, limit):
    """Brackets, quotes and backslashes inside strings never count; arrays and objects always do."""
    import json

    from tui.outside_json import nesting_exceeds
    assert nesting_exceeds(json.dumps(value).encode(), limit) == (_depth(value) > limit)
