"""`fashionfail-tui eval` on prediction files written the way the facere script writes them."""

import json

import pytest

from evaluation_data import perfect, predictions, write_annotations, write_facere_file
from tui import paths
from tui.commands import main

BOX = (10, 10, 50, 50)
OBJECTS = {"a.jpg": [(0, BOX)], "b.jpg": [(0, BOX)], "c.jpg": [(0, BOX)]}
# a found, c at IoU 0.667, b at IoU 0.333: by hand mAP_w 472/1010, @.50 67/101, @.75 34/101, mAR 14/30.
SHIFTED = [predictions("a.jpg", [(0, BOX, 0.9)]), predictions("c.jpg", [(0, (18, 10, 58, 50), 0.8)]),
           predictions("b.jpg", [(0, (30, 10, 70, 50), 0.7)])]


@pytest.fixture
def files(tmp_path):
    anns = write_annotations(tmp_path / "anns.json", OBJECTS)
    good = write_facere_file(tmp_path / "facere-ff_test.npz", perfect(OBJECTS))
    shifted = write_facere_file(tmp_path / "shifted-ff_test.npz", SHIFTED)
    return anns, good, shifted


def run_json(capsys, *args):
    assert main(["eval", *map(str, args), "--family", "facere", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_one_entry_per_file_and_iou_type_with_the_hand_worked_metrics(files, capsys):
    anns, good, shifted = files
    results = run_json(capsys, good, shifted, "--anns", anns)["results"]
    assert [(r["file"], r["iou_type"]) for r in results] == [
        (str(good), "bbox"), (str(good), "segm"), (str(shifted), "bbox"), (str(shifted), "segm")]
    for result in results[:2]:
        for key in ("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1", "mAR_w100"):
            assert result[key] == pytest.approx(1)
    for result in results[2:]:
        assert result["mAP_w"] == pytest.approx(472 / 1010)
        assert result["mAP_w50"] == pytest.approx(67 / 101)
        assert result["mAP_w75"] == pytest.approx(34 / 101)
        assert result["mAR_w100"] == pytest.approx(14 / 30)
        shirt = result["per_category"][0]
        assert (shirt["name"], shirt["true_positives"], shirt["false_positives"], shirt["false_negatives"]) == \
            ("shirt, blouse", 2, 1, 1)
        assert result["most_missed"] == [{"image_file": "b.jpg", "false_positives": 1, "missed": 1}]
    assert len(results[0]["per_category"]) == 27


def test_the_table_shows_box_and_mask_percentages_model_by_model(files, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    anns, good, shifted = files
    assert main(["eval", str(good), str(shifted), "--anns", str(anns), "--family", "facere"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[3]: line for line in out.splitlines() if "ff_test.npz" in line}
    assert rows["facere-ff_test.npz"].split()[1] == "facere"  # the model, then the file
    assert rows["facere-ff_test.npz"].count("100.0 | 100.0") == 5
    assert "46.7 | 46.7" in rows["shifted-ff_test.npz"] and "66.3 | 66.3" in rows["shifted-ff_test.npz"]
    assert "33.7 | 33.7" in rows["shifted-ff_test.npz"]


@pytest.mark.parametrize(("iou", "holds"), [("bbox", "boxes"), ("segm", "masks")])
def test_one_iou_type_is_a_table_of_that_type_only(files, capsys, monkeypatch, iou, holds):
    monkeypatch.setenv("COLUMNS", "200")
    anns, _, shifted = files
    assert main(["eval", str(shifted), "--anns", str(anns), "--iou", iou, "--family", "facere"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].strip() == f"anns.json: weighted over 22 categories, {holds}, %"
    row = next(line for line in out.splitlines() if "shifted-ff_test.npz" in line)
    assert [cell.strip() for cell in row.split("│")[3:-1]] == ["46.7", "66.3", "33.7", "46.7", "46.7"]
    assert "|" not in out and "–" not in out


def test_missing_images_are_reported_on_both_sides(tmp_path, capsys):
    anns = write_annotations(tmp_path / "anns.json", OBJECTS, extra_images=("empty.jpg",))
    partial = write_facere_file(tmp_path / "partial.npz", perfect({"a.jpg": OBJECTS["a.jpg"]}) +
                                [predictions("stray.jpg", [(0, BOX, 0.9)])])
    result = run_json(capsys, partial, "--anns", anns, "--iou", "bbox")["results"][0]
    assert result["not_in_annotations"] == {"count": 1, "images": ["stray.jpg"]}
    assert result["not_in_predictions"] == {"count": 3, "images": ["b.jpg", "c.jpg", "empty.jpg"]}
    assert main(["eval", str(partial), "--anns", str(anns), "--iou", "bbox", "--family", "facere"]) == 0
    out = capsys.readouterr().out
    assert "1 predicted image(s) not in anns.json, left out: stray.jpg" in out
    assert "3 of 4 annotated image(s) have no predictions" in out


def test_the_default_annotation_file_is_fashionfails_in_the_cache(files, capsys):
    _, good, _ = files
    assert main(["eval", str(good), "--family", "facere"]) == 2
    err = capsys.readouterr().err
    assert "ff_test.json" in err and "--anns" in err and len(err.strip().splitlines()) == 1
    paths.fashionfail_dir().mkdir(parents=True, exist_ok=True)
    write_annotations(paths.fashionfail_dir() / "ff_val.json", OBJECTS)
    result = run_json(capsys, good, "--split", "val", "--iou", "bbox")
    assert result["annotations"] == str(paths.fashionfail_dir() / "ff_val.json")
    assert result["results"][0]["mAP_w"] == pytest.approx(1)


@pytest.mark.parametrize("broken", ["annotations", "predictions"])
def test_a_broken_file_is_one_line_and_exit_2(files, capsys, broken):
    anns, good, _ = files
    (anns if broken == "annotations" else good).write_bytes(b"\x00 not what it should be")
    assert main(["eval", str(good), "--anns", str(anns), "--family", "facere"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("fashionfail-tui: error:") and len(captured.err.strip().splitlines()) == 1
    assert str(anns if broken == "annotations" else good) in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_folder_given_as_the_annotation_file_is_called_a_folder(files, capsys):
    _, good, _ = files
    folder = good.parent
    assert main(["eval", str(good), "--anns", str(folder), "--family", "facere"]) == 2
    assert capsys.readouterr().err.strip() == f"fashionfail-tui: error: annotation file {folder}: is a folder, not a file"
