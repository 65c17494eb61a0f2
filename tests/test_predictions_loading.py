"""Every family's file, as the original scripts and our runner write it, reads to the same normalized view."""

import os

import numpy as np
import pytest

import prediction_files as pf
from tui.errors import UserError
from tui.predictions import load_predictions

EXPECTED_BOXES = np.array(pf._xyxy(), dtype=np.float32)


def assert_normalized(predictions, categories=pf.CATEGORIES):
    assert len(predictions) == 2
    first, second = predictions.images[0], predictions.images[1]
    assert first.image_file == "shirt.jpg" and second.image_file == "empty.jpg"
    np.testing.assert_array_equal(first.boxes, EXPECTED_BOXES)
    assert first.category_ids.tolist() == categories
    np.testing.assert_allclose(first.scores, pf.SCORES)
    mask = first.mask(0)
    top, left, bottom, right = pf.RECTANGLES[0]
    assert mask.shape == (pf.HEIGHT, pf.WIDTH) and mask.sum() == (bottom - top) * (right - left)
    assert mask[top, left] and not mask[top - 1, left]
    assert len(second) == 0 and second.boxes.shape == (0, 4)


def test_facere_npz_is_detected_from_content(tmp_path):
    predictions = load_predictions(pf.write_npz(tmp_path / "facere.npz", pf.facere_records()))
    assert (predictions.family, predictions.model, predictions.conventions.source) == ("facere", "facere", "content")
    assert predictions.meta is None
    assert_normalized(predictions)


def test_facere_plus_maps_its_22_classes_to_fashionfail_categories(tmp_path):
    predictions = load_predictions(pf.write_npz(tmp_path / "plus.npz", pf.facere_plus_records()))
    assert (predictions.family, predictions.model) == ("facere", "facere+")
    assert_normalized(predictions, categories=[1, 6])


def test_fformer_npz_has_xyxy_boxes_and_zero_based_classes(tmp_path):
    predictions = load_predictions(pf.write_npz(tmp_path / "fformer.npz", pf.fformer_records()))
    assert predictions.family == "fformer" and predictions.conventions.box_format == "xyxy"
    assert_normalized(predictions)


def test_amrcnn_npy_with_attributes_and_tar_member_paths(tmp_path):
    predictions = load_predictions(pf.write_amrcnn(tmp_path / "amrcnn.npy", pf.amrcnn_records()))
    assert predictions.family == "amrcnn"
    assert_normalized(predictions)  # images/test/shirt.jpg -> shirt.jpg


def test_amrcnn_image_files_given_as_bytes(tmp_path):
    records = pf.amrcnn_records()
    for record in records:
        record["image_file"] = record["image_file"].encode()
    assert load_predictions(pf.write_amrcnn(tmp_path / "amrcnn.npy", records)).image_names == ["shirt.jpg", "empty.jpg"]


def test_our_runner_files_are_read_through_their_meta(tmp_path):
    path = pf.write_ours(tmp_path / "ours.npz", pf.facere_plus_records(), model="facere+", family="facere",
                         box_format="yxyx", class_ids="fashionfail-1based", image_dir="/data/images")
    predictions = load_predictions(path)
    assert predictions.conventions.source == "meta" and predictions.model == "facere+"
    assert predictions.meta["image_dir"] == "/data/images"
    assert_normalized(predictions, categories=[1, 6])


def test_a_meta_dict_instead_of_a_json_string_is_read_as_far_as_json_goes(tmp_path):
    meta = np.empty((), dtype=object)
    meta[()] = {"model": "fformer-swin", "image_dir": "/data", "threshold": np.float32(0.5)}
    path = pf.write_npz(tmp_path / "p.npz", pf.fformer_records(), meta=meta)
    predictions = load_predictions(path)
    assert predictions.model == "fformer-swin" and predictions.meta["threshold"] == "0.5"
    assert load_predictions(path).meta == predictions.meta  # and the index keeps it


def test_numpy_1x_pickles_load_too(tmp_path):
    records = pf.facere_records()
    records[0]["numpy_scalars"] = (np.float32(1.5), np.int64(3))  # pickled through numpy.core.multiarray.scalar
    array = pf.object_array(records)
    npy = tmp_path / "numpy1.npy"
    npy.write_bytes(pf.numpy1_npy_bytes(array))
    assert_normalized(load_predictions(npy, family="facere"))
    npz = pf.write_zip(tmp_path / "numpy1.npz", {"data.npy": pf.numpy1_npy_bytes(array)})
    assert_normalized(load_predictions(npz))


def test_the_user_can_override_the_family(tmp_path):
    path = pf.write_npz(tmp_path / "plus.npz", pf.facere_plus_records())
    as_facere = load_predictions(path, family="facere")
    assert as_facere.images[0].category_ids.tolist() == [1, 5]  # class - 1
    with pytest.raises(UserError, match="unknown family 'yolo'"):
        load_predictions(path, family="yolo")


def test_summary_counts_categories_scores_and_empty_images(tmp_path):
    summary = load_predictions(pf.write_npz(tmp_path / "facere.npz", pf.facere_records())).summary()
    assert summary["images"] == 2 and summary["detections"] == 2 and summary["masks"] == 2
    assert summary["per_category"] == {"sleeve": 1, "pants": 1}
    assert summary["images_without_detections"] == ["empty.jpg"]
    assert summary["score_quantiles"]["max"] == pytest.approx(0.9) and summary["score_quantiles"]["min"] == pytest.approx(0.3)


def test_reopening_uses_the_index_and_a_changed_file_rebuilds_it(tmp_path):
    path = pf.write_npz(tmp_path / "p.npz", pf.facere_records())
    progress = []
    first = load_predictions(path, on_progress=lambda fraction, stage: progress.append((fraction, stage)))
    assert not first.from_index and progress[-1] == (1.0, "done")
    assert [f for f, _ in progress] == sorted(f for f, _ in progress)
    again = load_predictions(path)
    assert again.from_index and again.image_names == first.image_names
    np.testing.assert_array_equal(again.images[0].boxes, first.images[0].boxes)
    assert again.images[0].masks == first.images[0].masks

    records = pf.facere_records()
    records[0]["scores"] = np.array([0.5, 0.4], dtype=np.float32)
    pf.write_npz(path, records)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = load_predictions(path)
    assert not changed.from_index
    np.testing.assert_allclose(changed.images[0].scores, [0.5, 0.4])
    assert load_predictions(path).from_index


def test_an_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("FASHIONFAIL_TUI_CACHE_DIR", str(blocker))
    predictions = load_predictions(pf.write_npz(tmp_path / "p.npz", pf.facere_records()))
    assert len(predictions) == 2 and not load_predictions(tmp_path / "p.npz").from_index
