"""The evaluation core against hand-worked cases and against pycocotools run directly."""

import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from evaluation_data import perfect, predictions, write_annotations, write_facere_file
from tui.errors import UserError
from tui.evaluation import evaluate_predictions, load_ground_truth
from tui.evaluation import scoring
from tui.evaluation.evaluator import Evaluator

SHIRT, TOP, SWEATER = 0, 1, 2
BOX = (10, 10, 50, 50)  # 40 x 40
SHIFTED_IOU_067 = (18, 10, 58, 50)  # overlap 32 x 40: IoU 1280 / 1920 = 0.667
SHIFTED_IOU_033 = (30, 10, 70, 50)  # overlap 20 x 40: IoU 800 / 2400 = 0.333


def both(test):
    return pytest.mark.parametrize("iou_type", ["bbox", "segm"])(test)


def evaluate(tmp_path, objects, images, iou_type, **annotation_options):
    truth = load_ground_truth(write_annotations(tmp_path / "anns.json", objects, **annotation_options))
    return evaluate_predictions(images, truth, iou_type)


def category(evaluation, category_id):
    return next(c for c in evaluation.per_category if c.category_id == category_id)


@both
def test_perfect_predictions_score_one_everywhere(tmp_path, iou_type):
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(TOP, (0, 0, 30, 60))], "c.jpg": [(SHIRT, (5, 5, 95, 95))]}
    result = evaluate(tmp_path, objects, perfect(objects), iou_type)
    # (COCOeval's precision is tp / (tp + fp + eps): one to 15 digits)
    metrics = (result.mAP_w, result.mAP_w50, result.mAP_w75, result.mAR_w1, result.mAR_w100)
    assert metrics == pytest.approx((1, 1, 1, 1, 1))
    assert category(result, SHIRT).true_positives == 2
    assert result.image_errors == ()


@both
def test_a_box_below_iou_half_is_a_miss_and_one_between_half_and_075_counts_only_at_050(tmp_path, iou_type):
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(SHIRT, BOX)], "c.jpg": [(SHIRT, BOX)]}
    images = [predictions("a.jpg", [(SHIRT, BOX, 0.9)]),
              predictions("c.jpg", [(SHIRT, SHIFTED_IOU_067, 0.8)]),
              predictions("b.jpg", [(SHIRT, SHIFTED_IOU_033, 0.7)])]
    result = evaluate(tmp_path, objects, images, iou_type)
    # IoU .50-.65: a and c found (precision 1 up to recall 2/3: recall steps 0..0.66, 67 of 101).
    # IoU .70-.95: only a (precision 1 up to recall 1/3: steps 0..0.33, 34 of 101).
    assert result.mAP_w50 == pytest.approx(67 / 101)
    assert result.mAP_w75 == pytest.approx(34 / 101)
    assert result.mAP_w == pytest.approx((4 * 67 + 6 * 34) / 1010)
    assert result.mAR_w100 == pytest.approx((4 * 2 / 3 + 6 * 1 / 3) / 10)
    shirt = category(result, SHIRT)
    assert (shirt.true_positives, shirt.false_positives, shirt.false_negatives) == (2, 1, 1)
    assert [(e.image_file, e.false_positives, e.missed) for e in result.image_errors] == [("b.jpg", 1, 1)]


@both
def test_a_swapped_class_is_one_false_positive_and_one_miss(tmp_path, iou_type):
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(TOP, BOX)]}
    images = [predictions("a.jpg", [(TOP, BOX, 0.9)]), predictions("b.jpg", [(TOP, BOX, 0.9)])]
    result = evaluate(tmp_path, objects, images, iou_type)
    shirt, top = category(result, SHIRT), category(result, TOP)
    assert (shirt.true_positives, shirt.false_positives, shirt.false_negatives) == (0, 0, 1)
    assert (top.true_positives, top.false_positives, top.false_negatives) == (1, 1, 0)
    assert shirt.ap == 0
    assert result.worst_images("false_positives")[0].image_file == "a.jpg"
    assert result.worst_images("missed")[0].image_file == "a.jpg"


def test_weights_are_image_frequencies_over_the_22_weighted_categories(tmp_path):
    # shirts in 3 images, a top in 1, a sweater (not weighted) in 1: weights 3/4 and 1/4.
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(SHIRT, BOX)], "c.jpg": [(SHIRT, BOX)],
               "d.jpg": [(TOP, BOX)], "e.jpg": [(SWEATER, BOX)]}
    truth = load_ground_truth(write_annotations(tmp_path / "anns.json", objects))
    assert truth.weights[SHIRT] == 0.75 and truth.weights[TOP] == 0.25
    assert SWEATER not in truth.weights and sum(truth.weights.values()) == 1
    images = perfect({k: v for k, v in objects.items() if k != "d.jpg"})  # every top missed
    result = evaluate_predictions(images, truth, "bbox")
    assert result.mAP_w == pytest.approx(0.75)
    assert category(result, SWEATER).ap == pytest.approx(1) and category(result, SWEATER).weight == 0


def test_images_missing_on_either_side_are_reported_and_annotated_ones_count_as_missed(tmp_path):
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(SHIRT, BOX)]}
    images = [predictions("a.jpg", [(SHIRT, BOX, 0.9)]), predictions("stray.jpg", [(SHIRT, BOX, 0.9)]),
              predictions("images/test/nothing-here.jpg", [])]
    result = evaluate(tmp_path, objects, images, "bbox", extra_images=("empty.jpg",))
    assert result.not_in_annotations == ("nothing-here.jpg", "stray.jpg")
    assert result.not_in_predictions == ("b.jpg", "empty.jpg")
    assert result.images_evaluated == 3 and result.detections == 1
    assert category(result, SHIRT).false_negatives == 1


def test_parts_and_decorations_are_not_evaluated(tmp_path):
    objects = {"a.jpg": [(SHIRT, BOX)]}
    images = [predictions("a.jpg", [(SHIRT, BOX, 0.9), (31, (0, 0, 10, 10), 0.95)])]  # 31: sleeve
    result = evaluate(tmp_path, objects, images, "bbox")
    assert result.detections == 1 and result.mAP_w == pytest.approx(1)


def scattered_case():
    """Several images and categories, jittered boxes, swapped classes, duplicates, an empty image."""
    rng = np.random.default_rng(7)
    objects, images = {}, []
    for index in range(12):
        name = f"img{index:02d}.jpg"
        found = []
        for _ in range(rng.integers(1, 3)):
            x, y = rng.integers(0, 50, size=2)
            found.append((int(rng.choice([0, 1, 4, 6, 23, 24])), (int(x), int(y), int(x + rng.integers(10, 50)),
                                                                  int(y + rng.integers(10, 50)))))
        objects[name] = found
        if index == 11:
            continue
        detections = []
        for category_id, (x1, y1, x2, y2) in found:
            dx, dy = rng.integers(-12, 13, size=2)
            swapped = int(rng.choice([category_id, 6])) if rng.random() < 0.3 else category_id
            box = (max(0, x1 + dx), max(0, y1 + dy), min(100, x2 + dx), min(100, y2 + dy))
            detections.append((swapped, box, float(rng.random())))
            if rng.random() < 0.4:
                detections.append((category_id, (x1, y1, x2, y2), float(rng.random())))
        images.append(predictions(name, detections))
    return objects, images


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_per_category_ap_and_weighted_map_agree_with_pycocotools_run_directly(tmp_path, iou_type):
    objects, images = scattered_case()
    anns = write_annotations(tmp_path / "anns.json", objects)
    result = evaluate_predictions(images, load_ground_truth(anns), iou_type)

    coco = COCO(str(anns))
    ids = {image["file_name"]: image["id"] for image in coco.dataset["images"]}
    detections = [{"image_id": ids[image.image_file], "category_id": int(c),
                   "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                   "score": float(s), "segmentation": {"size": m["size"], "counts": m["counts"].decode()}}
                  for image in images for b, c, s, m in zip(image.boxes, image.category_ids, image.scores, image.masks)]
    (tmp_path / "results.json").write_text(json.dumps(detections))
    direct = COCOeval(coco, coco.loadRes(str(tmp_path / "results.json")), iou_type)
    direct.params.catIds = list(range(27))
    direct.evaluate()
    direct.accumulate()

    # the original compute_map_weighted's formulas, on the direct run
    weights = {c: len(coco.getImgIds(catIds=[c])) for c in set(range(27)) - {2, 12, 16, 19, 20}}
    total = sum(weights.values())
    precision, recall = direct.eval["precision"], direct.eval["recall"]
    expected = {
        "mAP_w": [precision[:, :, c, 0, 2] for c in weights], "mAP_w50": [precision[0, :, c, 0, 2] for c in weights],
        "mAP_w75": [precision[5, :, c, 0, 2] for c in weights],
        "mAR_w1": [recall[:, c, 0, 0] for c in weights], "mAR_w100": [recall[:, c, 0, 2] for c in weights],
    }
    for key, cells in expected.items():
        value = sum(n / total * np.nanmean(cell) for n, cell in zip(weights.values(), cells) if n)
        assert result.metric(key) == pytest.approx(value), key
    assert 0 < result.mAP_w < result.mAR_w100 < 1
    for c in result.per_category:
        cells = direct.eval["precision"][:, :, c.category_id, 0, 2]
        assert c.ap == (pytest.approx(cells.mean()) if (cells > -1).any() else None), c.name
    assert result.detections == len(detections)


def test_a_mask_of_the_wrong_size_names_the_image(tmp_path):
    objects = {"a.jpg": [(SHIRT, BOX)]}
    images = [predictions("a.jpg", [(SHIRT, BOX, 0.9)], size=(200, 100))]
    with pytest.raises(UserError, match=r"a\.jpg: a mask is 100x200 pixels .* 100x100"):
        evaluate(tmp_path, objects, images, "segm")


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot be read as JSON"),
    ("[]", "not a COCO annotation file"),
    ('{"images": [], "annotations": []}', "no 'categories' list"),
    ('{"images": [{"id": 1}], "annotations": [], "categories": []}', r"images\[0\] lacks file_name, height, width"),
    ('{"images": [], "annotations": [], "categories": []}', "no annotation of the 22 categories"),
    ('{"images": [], "categories": [], "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1],'
     ' "area": 1, "iscrowd": 0, "segmentation": "x"}]}', r"annotations\[0\] has a segmentation that is neither"),
    # pycocotools ignores an object with any true iscrowd but reads 0.5 as not crowd in its IoUs;
    # faster-coco-eval rounds it down: the two would disagree, and COCO knows only 0 and 1
    ('{"images": [], "categories": [], "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1],'
     ' "area": 1, "iscrowd": 0.5, "segmentation": [[0, 0, 1, 0, 1, 1]]}]}', r"annotations\[0\] has an iscrowd that is neither 0 nor 1"),
])
def test_a_broken_annotation_file_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message) as caught:
        load_ground_truth(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


class CountingCOCOeval:
    """Counts COCO evaluations (either engine): the cache must spare them."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = scoring.run_engine

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(scoring, "run_engine", counted)


def test_results_are_cached_beside_the_file_and_rerun_when_either_file_changes(tmp_path, monkeypatch):
    objects = {"a.jpg": [(SHIRT, BOX)], "b.jpg": [(TOP, BOX)]}
    anns = write_annotations(tmp_path / "anns.json", objects)
    file = write_facere_file(tmp_path / "preds.npz", perfect(objects))
    counter = CountingCOCOeval(monkeypatch)

    first = Evaluator(anns).evaluate(file, ("bbox", "segm"), family="facere")
    assert counter.calls == 2 and not any(e.from_cache for e in first)
    assert len(list(tmp_path.glob("preds.npz.eval-*.json"))) == 2

    again = Evaluator(anns).evaluate(file, ("bbox", "segm"), family="facere")
    assert counter.calls == 2 and all(e.from_cache for e in again)
    assert again == first

    write_annotations(anns, {**objects, "c.jpg": [(SHIRT, BOX)]})  # one more annotated image, never predicted
    changed = Evaluator(anns).evaluate(file, ("bbox",), family="facere")
    assert counter.calls == 3 and changed[0].not_in_predictions == ("c.jpg",)

    write_facere_file(file, perfect({"a.jpg": objects["a.jpg"]}))
    Evaluator(anns).evaluate(file, ("bbox",), family="facere")
    assert counter.calls == 4
    # the cached evaluations of the earlier file content are gone, the newest stays
    assert len(list(tmp_path.glob("preds.npz.eval-*.json"))) == 1


def test_a_folder_that_cannot_be_written_means_no_cache_not_a_failure(tmp_path, monkeypatch):
    objects = {"a.jpg": [(SHIRT, BOX)]}
    anns = write_annotations(tmp_path / "anns.json", objects)
    file = write_facere_file(tmp_path / "preds.npz", perfect(objects))
    monkeypatch.setattr("tui.files.os.replace", lambda *_: (_ for _ in ()).throw(PermissionError("ro")))
    result = Evaluator(anns).evaluate(file, ("bbox",), family="facere")
    assert result[0].mAP_w == pytest.approx(1)
    assert list(tmp_path.glob("preds.npz.eval-*")) == []
