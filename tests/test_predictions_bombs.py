"""Files that would hand the reader control of memory or exhaust it: refused with one line, exit 2.

Every file here is run through the real CLI in a subprocess under a 3 GiB address-space limit, so a
segfault, an abort or a MemoryError traceback fails the test instead of the test run.
"""

import time

import numpy as np

import pytest

import hostile_predictions as hp
import prediction_files as pf
from evaluation_data import write_annotations
from tests.helpers.runs import assert_one_line_error, confined_cli
from tui import paths

QUICK_SECONDS = 30


def refused(*args, pattern: str) -> str:
    started = time.monotonic()
    line = assert_one_line_error(confined_cli(*args), pattern)
    assert time.monotonic() - started < QUICK_SECONDS
    return line


def assert_no_index_written():
    assert not paths.indexes_dir().exists() or not list(paths.indexes_dir().iterdir())


@pytest.fixture
def annotations(tmp_path):
    return write_annotations(tmp_path / "anns.json", {"shirt.jpg": [(0, (10, 10, 50, 50))]}, size=(pf.HEIGHT, pf.WIDTH))


@pytest.mark.parametrize("attack", sorted(hp.MEMORY_PICKLES))
@pytest.mark.parametrize("command", ["inspect", "eval"])
def test_a_pickle_that_would_build_arrays_over_raw_bytes_is_refused(tmp_path, annotations, attack, command):
    path = pf.write_zip(tmp_path / "p.npz", {"data.npy": hp.object_npy(pf.object_array(hp.memory_pickle_record(attack)),
                                                                       (2,))})
    extra = ["--anns", annotations, "--family", "facere"] if command == "eval" else []
    refused(command, path, *extra, pattern=r"refused to load: ")
    assert_no_index_written()


@pytest.mark.parametrize("attack", ["ndarray-over-bytes", "reconstruct-object-state-with-bytes"])
def test_the_data_array_itself_cannot_be_built_over_bytes(tmp_path, attack):
    path = tmp_path / "p.npy"
    path.write_bytes(hp.object_npy(hp.MEMORY_PICKLES[attack], (4,)))
    refused("inspect", path, pattern="refused to load: ")


def test_one_counts_string_shared_by_3000_masks_is_refused_before_it_is_copied(tmp_path):
    path = hp.memo_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 64 << 10  # 3000 x 1 MB of masks from a few KB
    refused("inspect", path, pattern=r"more than .* holds")
    assert_no_index_written()


def test_a_header_announcing_100_gib_is_refused_without_reading(tmp_path):
    refused("inspect", hp.huge_npy_header(tmp_path / "huge.npy"), pattern=r"announces .* but holds")


def test_an_npz_member_announcing_100_gib_is_refused_without_reading(tmp_path):
    header = hp.huge_npy_header(tmp_path / "huge.npy").read_bytes()
    path = pf.write_zip(tmp_path / "huge.npz", {"data.npy": header})
    refused("inspect", path, pattern=r"announces .* but holds")


def test_an_object_array_header_announcing_billions_of_records_is_refused(tmp_path):
    path = tmp_path / "p.npy"
    path.write_bytes(hp.object_npy(pf.object_array(pf.facere_records()), (2_000_000_000,)))
    refused("inspect", path, pattern="does not hold the object array its header announces")


@pytest.mark.parametrize("write", [hp.deep_json_meta, hp.deep_pickled_meta], ids=["json-string", "pickled-lists"])
def test_a_meta_nested_200000_levels_deep_is_refused(tmp_path, write):
    refused("inspect", write(tmp_path / "deep.npz"), pattern="nested too deeply")


def test_a_dict_key_of_tuples_nested_200000_deep_does_not_crash(tmp_path):
    refused("inspect", hp.deep_tuple_key(tmp_path / "deep.npz"), pattern=r"reading it crashed the reader \(SIGSEGV\)")


def test_a_memo_slot_far_beyond_the_pickle_is_refused(tmp_path):
    refused("inspect", hp.memo_index_bomb(tmp_path / "memo.npy"), pattern="needs more memory than a file of its size")


def test_a_pickle_that_inflates_to_gigabytes_of_empty_sets_is_refused(tmp_path):
    path = hp.empty_set_bomb(tmp_path / "sets.npz")
    assert path.stat().st_size < 1 << 20
    refused("inspect", path, pattern="needs more memory than a file of its size")


def test_the_cache_never_holds_an_index_much_larger_than_its_file(tmp_path):
    """A legitimately huge but very compressible file loads, from a temporary index outside the cache."""
    from tui.predictions import index, load_predictions

    records = pf.facere_records()
    masks = 200
    records[0].update(boxes=np.zeros((masks, 4), np.float32), classes=np.ones(masks, np.int64),
                      scores=np.full(masks, 0.5, np.float32),
                      masks=[{"size": [250, 400], "counts": hp.counts_of_one_pixel_runs(100_000)} for _ in range(masks)])
    path = pf.write_npz(tmp_path / "p.npz", records)
    predictions = load_predictions(path)
    assert len(predictions.columns.mask_counts) == masks * 100_000
    assert predictions.columns.mask_counts.nbytes > index.MAX_SIZE_RATIO * path.stat().st_size + index.INDEX_SLACK
    assert_no_index_written()
    assert predictions.images[0].mask(3).sum() == 50_000
