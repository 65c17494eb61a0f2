"""`fashionfail-tui failures` on the hand-made case of tests/failure_case.py, where the answers are known."""

import json

import pytest

from evaluation_data import perfect, write_annotations, write_runner_file
from failure_case import A1, A2, B1, C1, D1, OBJECTS, write_case
from tui.catalog import category_name
from tui.commands import main
from tui.evaluation.report import model_labels, short_paths

FACERE, FFORMER, AMRCNN = "facere", "fformer-swin", "amrcnn-spine"


def xywh(box):
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def run_json(capsys, *args):
    code = main(["failures", *map(str, args), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture
def case(tmp_path):
    return write_case(tmp_path)


@pytest.mark.parametrize("iou", ["bbox", "segm"])
def test_who_finds_what_at_the_default_score(case, capsys, iou):
    anns, files = case
    out = run_json(capsys, *files, "--anns", anns, "--iou", iou)
    assert out["min_score"] == 0.5 and out["iou_threshold"] == 0.5 and out["objects"] == 5
    assert out["missed_by_all"] == [
        {"image": "c.jpg", "category": "pants", "category_id": 6, "bbox": xywh(C1), "annotation_id": 4}]
    found = {(d["image"], tuple(d["bbox"])): (d["found_by"], d["missed_by"]) for d in out["disagreements"]}
    assert found == {
        ("a.jpg", tuple(xywh(A1))): ([FACERE, FFORMER], [AMRCNN]),
        ("a.jpg", tuple(xywh(A2))): ([FACERE], [FFORMER, AMRCNN]),
        ("b.jpg", tuple(xywh(B1))): ([FFORMER, AMRCNN], [FACERE]),
        ("d.jpg", tuple(xywh(D1))): ([AMRCNN], [FACERE, FFORMER]),
    }
    assert [d["image"] for d in out["disagreements"]] == ["a.jpg", "a.jpg", "b.jpg", "d.jpg"]
    fp = out["false_positives"]
    assert [(i["image"], i["false_positives"]) for i in fp[FACERE]] == [("a.jpg", 1), ("b.jpg", 1), ("c.jpg", 1)]
    assert fp[FACERE][1]["by_category"] == {category_name(1): 1}
    assert fp[FFORMER] == [
        {"image": "d.jpg", "false_positives": 2, "by_category": {"shirt, blouse": 1, "pants": 1}, "not_counted": {}},
            {"image": "b.jpg", "false_positives": 0, "by_category": {}, "not_counted": {"shoe": 1}},  # no shoe annotated: the paper counts no FP
    ]
    assert fp[AMRCNN] == []
    assert [(m["name"], m["detections"], m["images_not_predicted"]) for m in out["models"]] == [
        (FACERE, 5, 0), (FFORMER, 5, 0), (AMRCNN, 2, 1)]  # the sleeve is not evaluated


def test_per_category_counts(case, capsys):
    anns, files = case
    per_category = run_json(capsys, *files, "--anns", anns)["per_category"]
    assert list(per_category) == ["shirt, blouse", "top, t-shirt, sweatshirt", "pants", "shoe"]
    assert per_category["shirt, blouse"] == {
        "category_id": 0, "objects": 2, "missed_by_all": 0, "disagreements": 2,
        "found": {FACERE: 1, FFORMER: 2, AMRCNN: 1}, "false_positives": {FACERE: 1, FFORMER: 1, AMRCNN: 0},
        "not_counted": {FACERE: 0, FFORMER: 0, AMRCNN: 0}}
    assert per_category["pants"] == {
        "category_id": 6, "objects": 2, "missed_by_all": 1, "disagreements": 1,
        "found": {FACERE: 1, FFORMER: 0, AMRCNN: 0}, "false_positives": {FACERE: 1, FFORMER: 1, AMRCNN: 0},
        "not_counted": {FACERE: 0, FFORMER: 0, AMRCNN: 0}}
    # no shoe is annotated: fformer's shoe is listed apart, not a false positive (the paper's COCOeval2 skips it)
    shoe = per_category["shoe"]
    assert shoe["objects"] == 0 and shoe["false_positives"][FFORMER] == 0 and shoe["not_counted"][FFORMER] == 1


def test_min_score_zero_counts_every_detection(case, capsys):
    anns, files = case
    out = run_json(capsys, *files, "--anns", anns, "--min-score", "0")
    d1 = next(d for d in out["disagreements"] if d["image"] == "d.jpg")
    assert (d1["found_by"], d1["missed_by"]) == ([FACERE, AMRCNN], [FFORMER])
    assert out["false_positives"][AMRCNN] == [{"image": "c.jpg", "false_positives": 1, "by_category": {category_name(1): 1}, "not_counted": {}}]


@pytest.mark.parametrize("iou", ["bbox", "segm"])
def test_at_score_zero_the_counts_equal_evals(case, capsys, iou):
    """Failure matching is eval's matching: found = TP, missed = FN, false positives = FP, per category and model."""
    anns, files = case
    out = run_json(capsys, *files, "--anns", anns, "--min-score", "0", "--iou", iou)
    assert main(["eval", *map(str, files), "--anns", str(anns), "--iou", iou, "--json"]) == 0
    evaluations = json.loads(capsys.readouterr().out)["results"]
    for model, evaluation in zip([FACERE, FFORMER, AMRCNN], evaluations):
        for category in evaluation["per_category"]:
            counts = out["per_category"].get(category["name"])
            if counts is None:
                assert category["true_positives"] == category["false_positives"] == category["annotated"] == 0
                continue
            assert counts["found"][model] == category["true_positives"]
            assert counts["false_positives"][model] == category["false_positives"]
            assert counts["objects"] - counts["found"][model] == category["false_negatives"]


def test_one_model_has_no_disagreements_and_misses_what_it_misses(case, capsys):
    anns, files = case
    out = run_json(capsys, files[0], "--anns", anns)
    assert out["disagreements"] == []
    assert [(m["image"], m["bbox"]) for m in out["missed_by_all"]] == [("b.jpg", xywh(B1)), ("c.jpg", xywh(C1)),
                                                                        ("d.jpg", xywh(D1))]


def test_two_files_of_one_model_are_named_by_the_shortest_distinguishing_path(tmp_path, capsys):
    anns = write_annotations(tmp_path / "anns.json", OBJECTS)
    files = []
    for run in ("run1", "run2"):
        (tmp_path / run).mkdir()
        files.append(write_runner_file(tmp_path / run / "out.npz", perfect(OBJECTS), "facere"))
    out = run_json(capsys, *files, "--anns", anns)
    assert [m["name"] for m in out["models"]] == ["facere (run1/out.npz)", "facere (run2/out.npz)"]
    assert out["missed_by_all"] == out["disagreements"] == []


def test_model_labels():
    assert model_labels([("facere", "a/x.npz"), ("fformer-swin", "a/y.npz")]) == ["facere", "fformer-swin"]
    assert model_labels([("facere", "/p/a.npz"), ("facere", "/p/b.npz"), ("facere+", "/p/a.npz")]) == \
        ["facere (a.npz)", "facere (b.npz)", "facere+"]
    assert model_labels([("facere", "/x/r1/o.npz"), ("facere", "/y/r1/o.npz")]) == \
        ["facere (x/r1/o.npz)", "facere (y/r1/o.npz)"]
    assert model_labels([("facere", "o.npz"), ("facere", "r1/o.npz")]) == ["facere (o.npz)", "facere (r1/o.npz)"]


def test_short_paths():
    assert short_paths(["/p/a.npz", "/p/b.npz"]) == ["a.npz", "b.npz"]
    assert short_paths(["/t/run1/facere.npz", "/t/run2/facere.npz", "/t/x.npz"]) == \
        ["run1/facere.npz", "run2/facere.npz", "x.npz"]
    assert short_paths(["/x/r1/o.npz", "/y/r1/o.npz"]) == ["x/r1/o.npz", "y/r1/o.npz"]
    assert short_paths(["/p/a.npz", "/p/a.npz"]) == ["a.npz", "a.npz"]  # the same file twice is the same file


def test_the_text_output_lists_the_cases_and_the_table(case, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    anns, files = case
    assert main(["failures", *map(str, files), "--anns", str(anns)]) == 0
    out = capsys.readouterr().out
    assert "5 objects; boxes matched at IoU 0.5, detections scoring >= 0.5" in out
    assert "Missed by every model (1)" in out and "Found by some models, missed by others (4)" in out
    assert "amrcnn-spine: 1 annotated image(s) have no predictions" in out
    missed = out[out.index("Missed by every model"):out.index("Found by some")]
    assert "c.jpg" in missed and "20, 20, 60, 60" in missed
    assert "d.jpg" in out[out.index("Most false positives"):]
    pants = next(line for line in out.splitlines() if "│ pants" in line and "│ 6" in line)
    assert [cell.strip() for cell in pants.split("│")[3:-1]] == ["2", "1", "1", "1 · 1", "0 · 1", "0 · 0"]


@pytest.mark.parametrize("args, message", [
    (["--min-score", "1.5"], "--min-score must be between 0 and 1, not 1.5"),
    (["--min-score", "nan"], "--min-score must be between 0 and 1, not nan"),
    (["--top", "0"], "--top must be at least 1, not 0"),
])
def test_bad_options_are_one_line_and_exit_2(case, capsys, args, message):
    anns, files = case
    assert main(["failures", str(files[0]), "--anns", str(anns), *args]) == 2
    assert capsys.readouterr().err == f"fashionfail-tui: error: {message}\n"


def test_the_same_file_twice_is_refused(case, capsys):
    anns, files = case
    assert main(["failures", str(files[0]), str(files[1]), str(files[0]), "--anns", str(anns)]) == 2
    assert capsys.readouterr().err == f"fashionfail-tui: error: {files[0]} is given twice (as {files[0]})\n"


def test_masks_against_box_only_annotations_are_refused(case, capsys):
    anns, files = case
    dataset = json.loads(anns.read_text())
    for annotation in dataset["annotations"]:
        del annotation["segmentation"]
    anns.write_text(json.dumps(dataset))
    assert main(["failures", str(files[0]), "--anns", str(anns), "--iou", "segm"]) == 2
    err = capsys.readouterr().err
    assert "masks cannot be compared; use --iou bbox" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("broken", ["annotations", "predictions"])
def test_a_broken_file_is_one_line_and_exit_2(case, capsys, broken):
    anns, files = case
    (anns if broken == "annotations" else files[1]).write_bytes(b"\x00 garbage")
    assert main(["failures", *map(str, files), "--anns", str(anns), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("fashionfail-tui: error:") and len(captured.err.splitlines()) == 1
    assert "Traceback" not in captured.err + captured.out
