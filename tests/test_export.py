"""`fashionfail-tui export`: COCO results that pycocotools scores exactly as `eval` does, and a CSV row per detection."""

import csv
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from evaluation_data import predictions, write_annotations, write_runner_file
from failure_case import MODELS, OBJECTS
from tui.catalog import category_name
from tui.commands import main
from tui.evaluation import load_ground_truth
from tui.evaluation.conversion import to_coco_results
from tui.predictions import load_predictions

# The annotation file lists the images in another order than their names, so ids by position would be wrong.
REORDERED = {name: OBJECTS[name] for name in ("d.jpg", "b.jpg", "a.jpg", "c.jpg")}


@pytest.fixture
def case(tmp_path):
    anns = write_annotations(tmp_path / "anns.json", REORDERED)
    files = {name: write_runner_file(tmp_path / f"{name}.npz", images, name) for name, images in MODELS.items()}
    return anns, files


def export(capsys, *args):
    code = main(["export", *map(str, args)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def pycocotools_eval(anns, results, iou_type):
    """Plain pycocotools, as a user of the export would run it, on the categories eval scores."""
    gt = COCO(str(anns))
    evaluator = COCOeval(gt, gt.loadRes(results), iou_type)
    evaluator.params.catIds = list(range(27))
    evaluator.evaluate()
    evaluator.accumulate()
    return evaluator


def weighted_means(evaluator, truth) -> dict:
    """compute_map_weighted's five sums, written out as the paper's evaluate.py has them."""
    precision, recall = evaluator.eval["precision"], evaluator.eval["recall"]
    out = dict.fromkeys(("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100"), 0)
    for c, w in sorted(truth.weights.items()):
        out["mAP_w"] += w * np.nanmean(precision[:, :, c, 0, 2])
        out["mAP_w50"] += w * np.nanmean(precision[0, :, c, 0, 2])
        out["mAP_w75"] += w * np.nanmean(precision[5, :, c, 0, 2])
        out["mAR_w1"] += w * np.nanmean(recall[:, c, 0, 0])
        out["mAR_w100"] += w * np.nanmean(recall[:, c, 0, 2])
    return out


@pytest.mark.parametrize("model", list(MODELS))
def test_the_coco_export_scored_by_pycocotools_equals_eval(case, capsys, tmp_path, model):
    anns, files = case
    out = tmp_path / "export.json"
    printed = export(capsys, files[model], "--format", "coco", "--out", out, "--anns", anns)
    assert f"to {out} (COCO results with boxes and masks, ids of anns.json)" in printed
    exported = json.loads(out.read_text())
    assert main(["eval", str(files[model]), "--anns", str(anns), "--json"]) == 0
    by_type = {r["iou_type"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    truth = load_ground_truth(anns)
    for iou_type in ("bbox", "segm"):
        from_export = pycocotools_eval(anns, str(out), iou_type)
        weighted = weighted_means(from_export, truth)
        for key, value in weighted.items():
            assert value == by_type[iou_type][key], (iou_type, key)
        precision = from_export.eval["precision"][:, :, :, 0, 2]
        aps = [float(p[p > -1].mean()) if (p > -1).any() else None for p in np.moveaxis(precision, 2, 0)]
        assert aps == [c["ap"] for c in by_type[iou_type]["per_category"]]
        direct = to_coco_results(load_predictions(files[model]).images, truth, iou_type).detections
        assert np.array_equal(from_export.eval["precision"], pycocotools_eval(anns, direct, iou_type).eval["precision"])
    ids = {image["file_name"]: image["id"] for image in json.loads(anns.read_text())["images"]}
    first = MODELS[model][0]
    mine = [d for d in exported if d["image_id"] == ids[first.image_file]]
    by_score = np.argsort(-first.scores, kind="stable")  # the original's order within an image: best score first
    assert [d["category_id"] for d in mine] == [c for c in first.category_ids[by_score].tolist() if c < 27]
    assert all(isinstance(d["segmentation"]["counts"], str) and len(d["bbox"]) == 4 for d in exported)


def test_the_coco_export_fields_are_what_loadres_takes(case, capsys, tmp_path):
    anns, files = case
    out = tmp_path / "fformer.json"
    printed = export(capsys, files["fformer-swin"], "--format", "coco", "--out", out, "--anns", anns)
    exported = json.loads(out.read_text())
    # a.jpg is image 3 in the annotation file; fformer-swin saw a shirt there at x 18..58, y 10..50, score 0.8.
    # The original sorts by image file, then score, both descending: a.jpg comes last
    assert exported[-1] == {"image_id": 3, "category_id": 0, "bbox": [18.0, 10.0, 40.0, 40.0],
                            "score": pytest.approx(0.8), "segmentation": exported[-1]["segmentation"]}
    assert exported[-1]["segmentation"]["size"] == [100, 100]
    assert "note: 1 detection(s) of categories outside 0..26 left out" in printed  # the sleeve


def test_boxes_only_when_a_detection_has_no_mask(tmp_path, capsys):
    anns = write_annotations(tmp_path / "anns.json", OBJECTS)
    image = predictions("a.jpg", [(0, (10, 10, 50, 50), 0.9)])
    image.masks = []
    file = write_runner_file(tmp_path / "boxes.npz", [image, predictions("stray.jpg", [(0, (1, 1, 5, 5), 0.5)])],
                             "facere")
    out = tmp_path / "boxes.json"
    printed = export(capsys, file, "--format", "coco", "--out", out, "--anns", anns)
    assert "(COCO results with boxes only" in printed
    assert "note: some detections have no mask, so only boxes are exported" in printed
    assert "note: 1 image(s) not in anns.json left out" in printed
    assert json.loads(out.read_text()) == [{"image_id": 1, "category_id": 0, "bbox": [10.0, 10.0, 40.0, 40.0],
                                            "score": pytest.approx(0.9)}]


def test_csv_has_a_header_and_one_row_per_detection(case, capsys, tmp_path):
    anns, files = case
    out = tmp_path / "fformer.csv"
    printed = export(capsys, files["fformer-swin"], "--format", "csv", "--out", out)
    assert "wrote 6 detections on 4 images" in printed
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["image", "model", "category_id", "category", "score", "x1", "y1", "x2", "y2", "mask_area"]
    assert len(rows) - 1 == sum(len(image) for image in MODELS["fformer-swin"]) == 6
    assert rows[1] == ["a.jpg", "fformer-swin", "0", "shirt, blouse", "0.8", "18", "10", "58", "50", "1600"]
    sleeve = rows[4]
    assert sleeve[:4] == ["c.jpg", "fformer-swin", "31", category_name(31)] and sleeve[-1] == str(30 * 30)


def test_an_existing_out_is_kept_without_overwrite(case, capsys, tmp_path):
    anns, files = case
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    assert main(["export", str(files["facere"]), "--format", "csv", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"fashionfail-tui: error: {out} exists; pass --overwrite to replace it\n"
    assert out.read_text() == "precious"
    export(capsys, files["facere"], "--format", "csv", "--out", out, "--overwrite")
    assert out.read_text().startswith("image,model,")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_as_out_and_a_bad_file_are_one_line(case, capsys, tmp_path):
    anns, files = case
    assert main(["export", str(files["facere"]), "--format", "csv", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"fashionfail-tui: error: {tmp_path} is a folder; give a file name for --out\n"
    files["facere"].write_bytes(b"\x00 not a prediction file")
    assert main(["export", str(files["facere"]), "--format", "coco", "--out", str(tmp_path / "x.json"),
                 "--anns", str(anns)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fashionfail-tui: error:") and str(files["facere"]) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_a_corrupt_mask_fails_the_csv_without_leaving_a_file(tmp_path, capsys):
    image = predictions("a.jpg", [(0, (10, 10, 50, 50), 0.9)])
    image.masks = [{"size": [100, 100], "counts": b"0"}]  # one run of 0 pixels: covers nothing
    file = write_runner_file(tmp_path / "bad.npz", [image], "facere")
    out = tmp_path / "bad.csv"
    assert main(["export", str(file), "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fashionfail-tui: error: {file}: a mask") and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == [file]
