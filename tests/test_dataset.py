"""`fashionfail-tui dataset fetch|status` against a mini FashionFail dataset on a local HTTP server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fileserver import FileServer

from tests.helpers.mini_dataset import DELIVERY, GOOD, entry, jpeg, serve_mini_dataset
from tui import config, paths
from tui.commands import main
from tui.dataset import fetch_annotations, fetch_images
from tui.downloads import Policy

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture
def server():
    with FileServer() as running:
        yield running


@pytest.fixture
def dataset(server):
    return serve_mini_dataset(server)


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_fetch_lands_the_good_images_and_lists_the_broken_and_wrong_sized(dataset, capsys):
    assert main(["dataset", "fetch"]) == 1
    captured = capsys.readouterr()
    images = paths.fashionfail_images("test")
    assert sorted(p.name for p in images.iterdir()) == sorted(GOOD)  # nothing partial, nothing wrong-sized
    assert (images / "a.jpg").read_bytes() == dataset.server.files[DELIVERY + "a.jpg"].body
    assert paths.fashionfail_annotations("test").is_file()
    assert f"test: 3 of 5 images verified in {images} (3 fetched, 0 verified before)" in captured.out
    err = captured.err.splitlines()
    assert f"  failed: broken.jpg: HTTP 404 Not Found for {dataset.server.url(DELIVERY + 'broken.jpg')}" in err
    assert "  failed: wrong.jpg: is 50x50 pixels, the annotation says 64x48" in err
    assert err[-1] == ("fashionfail-tui: error: 2 of 5 images in test failed (listed above); "
                       "run the same command again to retry them")
    assert "Traceback" not in captured.err
    assert not any(p.name.startswith("wrong") for p in files_under(paths.dataset_work_dir()))


def test_a_rerun_fetches_nothing_already_verified(dataset, capsys):
    main(["dataset", "fetch"])
    capsys.readouterr()
    dataset.server.requests.clear()
    assert main(["dataset", "fetch", "--json"]) == 1
    statuses = {e["file_name"]: e["status"] for e in events(capsys.readouterr().out) if e["event"] == "image"}
    assert statuses == {"a.jpg": "present", "b.jpg": "present", "c.jpg": "present",
                        "broken.jpg": "failed", "wrong.jpg": "failed"}
    # only the two failures are tried again; neither the good images nor the annotation file are fetched
    assert sorted(path for path, _ in dataset.server.requests) == [DELIVERY + "broken.jpg", DELIVERY + "wrong.jpg"]


def test_json_gives_one_event_per_image_and_a_summary(dataset, capsys):
    assert main(["dataset", "fetch", "--json"]) == 1
    out = events(capsys.readouterr().out)
    kinds = [e["event"] for e in out]
    assert kinds == ["progress"] * (kinds.count("progress")) + ["annotations"] + ["image"] * 5 + ["summary", "error"]
    assert out[kinds.index("annotations")] == {"event": "annotations", "split": "test", "fetched": True, "images": 5,
                                               "path": str(paths.fashionfail_annotations("test"))}
    failed = {e["file_name"]: e for e in out if e["event"] == "image" and e["status"] == "failed"}
    assert failed["wrong.jpg"]["reason"] == "is 50x50 pixels, the annotation says 64x48"
    assert failed["broken.jpg"]["url"] == dataset.server.url(DELIVERY + "broken.jpg")
    summary = out[-2]
    assert (summary["expected"], summary["verified"], summary["fetched"], summary["present"]) == (5, 3, 3, 0)
    assert {f["file_name"] for f in summary["failed"]} == {"broken.jpg", "wrong.jpg"}
    assert out[-1]["event"] == "error" and "2 of 5 images in test failed" in out[-1]["message"]


def test_status_says_what_each_split_holds(dataset, capsys):
    assert main(["dataset", "status", "--json"]) == 0
    before = {s["split"]: s for s in json.loads(capsys.readouterr().out)["splits"]}
    assert before["test"]["annotations_present"] is False and before["test"]["expected"] is None
    main(["dataset", "fetch"])
    capsys.readouterr()
    (paths.fashionfail_images("test") / "b.jpg").write_bytes(jpeg((40, 30), seed=9))  # changed since it was checked
    assert main(["dataset", "status", "--json"]) == 0
    after = {s["split"]: s for s in json.loads(capsys.readouterr().out)["splits"]}
    assert [after["test"][k] for k in ("annotations_present", "expected", "present", "verified", "complete")] == \
        [True, 5, 3, 2, False]
    assert after["val"]["annotations_present"] is False and after["train"]["present"] == 0
    assert main(["dataset", "status"]) == 0
    text = capsys.readouterr().out
    assert "ff_test.json" in text and "to fetch: fashionfail-tui dataset fetch --split all" in text
    assert [line.split("│")[1:6] for line in text.splitlines() if line.startswith("│ test")][0] == \
        [" test  ", " ff_test.json ", " 5               ", " 3       ", " 2        "]


HOSTILE = ["../../x.jpg", "..\\..\\y.jpg", "sub/z.jpg", "..", "nul\x00.jpg", "bell\x07.jpg", "", "no-suffix"]


def test_hostile_file_names_are_refused_and_nothing_lands_outside_the_split_folder(server, isolated_dirs, tmp_path,
                                                                                    capsys):
    dataset = serve_mini_dataset(server, good={"a.jpg": (64, 48)})
    absolute = tmp_path / "abs.jpg"
    for name in HOSTILE + [str(absolute)]:
        server.serve(DELIVERY + "hostile.jpg", jpeg((64, 48)))
        dataset.entries.append(entry(len(dataset.entries), name, server.url("/images/hostile.jpg"), (64, 48)))
    dataset.publish()
    before = files_under(isolated_dirs) | files_under(tmp_path)
    assert main(["dataset", "fetch", "--json"]) == 1
    assert not absolute.exists()
    allowed = (paths.fashionfail_images("test"), paths.dataset_work_dir())
    new = (files_under(isolated_dirs) | files_under(tmp_path)) - before
    outside = [p for p in new if p != paths.fashionfail_annotations("test") and not any(a in p.parents for a in allowed)]
    assert outside == []
    assert sorted(p.name for p in paths.fashionfail_images("test").iterdir()) == ["a.jpg"]
    assert dataset.requests_for("hostile.jpg") == 0
    out = events(capsys.readouterr().out)
    refused = [e for e in out if e["event"] == "image" and e["file_name"].startswith("images[")]
    assert len(refused) == len(HOSTILE) + 1
    assert all(e["status"] == "failed" and "file_name" in e["reason"] for e in refused)
    assert any("not a plain file name" in e["reason"] and "../../x.jpg" in e["reason"] for e in refused)
    assert any("unprintable" in e["reason"] and "\\x00" in e["reason"] for e in refused)


def test_images_already_in_the_folder_are_checked_not_fetched_and_broken_ones_replaced(dataset, capsys):
    images = paths.fashionfail_images("test")
    images.mkdir(parents=True)
    (images / "a.jpg").write_bytes(jpeg(GOOD["a.jpg"], seed=5))  # as the original make_dataset.py left it
    (images / "b.jpg").write_bytes(jpeg(GOOD["b.jpg"])[:200])  # interrupted: truncated
    assert main(["dataset", "fetch", "--json"]) == 1
    statuses = {e["file_name"]: e["status"] for e in events(capsys.readouterr().out) if e["event"] == "image"}
    assert statuses["a.jpg"] == "checked" and statuses["b.jpg"] == "fetched"
    assert dataset.requests_for("a.jpg") == 0 and dataset.requests_for("b.jpg") == 1
    assert (images / "b.jpg").read_bytes() == dataset.server.files[DELIVERY + "b.jpg"].body


def test_downloads_run_at_most_workers_at_once(server, capsys):
    many = {f"img{i}.jpg": (120 + i, 90) for i in range(8)}  # several 1 KiB chunks each, 10 ms apart
    serve_mini_dataset(server, good=many, delay=0.01)
    assert main(["dataset", "fetch", "--workers", "3"]) == 1
    assert server.most_at_once == 3
    assert "test: 8 of 10 images verified" in capsys.readouterr().out


def test_a_dropped_connection_is_resumed_and_one_that_keeps_dropping_is_a_failure(dataset):
    a = dataset.server.files[DELIVERY + "a.jpg"]
    a.faults = ["drop:300"]
    dataset.server.files[DELIVERY + "b.jpg"].faults = ["drop:100", "drop:100"]
    quick = Policy(retries=1, backoff=0.01)
    annotations = fetch_annotations("test", config.load(), policy=quick)
    summary = fetch_images(annotations, workers=2, policy=quick)
    reasons = {f.name: f.reason for f in summary.failures}
    assert set(reasons) == {"b.jpg", "broken.jpg", "wrong.jpg"}
    assert reasons["b.jpg"].startswith("download of b.jpg failed after 2 attempts: the connection to 127.0.0.1")
    assert dataset.server.requests_for(DELIVERY + "a.jpg")[-1]["range"] == "bytes=300-"
    assert (paths.fashionfail_images("test") / "a.jpg").read_bytes() == a.body


@pytest.mark.parametrize("body, reason", [
    (b"<html>rate limited</html>", "not JSON"),
    (b'{"annotations": []}', "no 'images' list"),
])
def test_an_annotation_download_that_is_not_one_saves_nothing(server, capsys, body, reason):
    server.serve("/ff/ff_test.json", body)
    paths.config_file().write_text(f'[dataset]\nannotations_url = "{server.url("/ff")}"\n')
    assert main(["dataset", "fetch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err and "nothing was saved" in err
    assert err.startswith(f"fashionfail-tui: error: {server.url('/ff/ff_test.json')} did not send")
    assert not paths.fashionfail_annotations("test").exists()
    assert not any(p.suffix == ".json" and p.name.startswith("ff_") for p in files_under(paths.cache_dir()))


def test_all_splits_goes_on_past_a_missing_one(dataset, capsys):
    assert main(["dataset", "fetch", "--split", "all", "--json"]) == 2
    out = events(capsys.readouterr().out)
    summaries = [e["split"] for e in out if e["event"] == "summary"]
    errors = [e["message"] for e in out if e["event"] == "error"]
    assert summaries == ["test"]
    assert any(m.startswith("val: HTTP 404") for m in errors) and any(m.startswith("train: HTTP 404") for m in errors)
    assert errors[-1] == "the annotation file of val, train could not be fetched (see above)"


def test_workers_out_of_range_is_a_user_error(capsys):
    assert main(["dataset", "fetch", "--workers", "0"]) == 2
    assert capsys.readouterr().err == "fashionfail-tui: error: --workers must be between 1 and 64, not 0\n"


def test_default_annotations_come_from_hugging_face_and_images_from_the_rewritten_url():
    from tui.dataset.annotations import annotations_url, delivery_url

    assert annotations_url(config.Config(), "val") == \
        "https://huggingface.co/datasets/rizavelioglu/fashionfail/resolve/main/ff_val.json"
    assert annotations_url(config.Config(dataset_annotations_url="http://m/ff/"), "test") == "http://m/ff/ff_test.json"
    assert delivery_url("https://res.cloudinary.com/x/image/upload/v1/images/adi_1.jpg") == \
        "https://res.cloudinary.com/x/image/upload/v1/images/f_jpg,q_auto,fl_lossy,c_fill,g_auto/adi_1.jpg"


def test_describe_dataset_names_each_split_and_what_fetches_the_rest(dataset):
    from tui.dataset import dataset_states, describe_dataset

    fetch_images(fetch_annotations("test", config.load()))
    (paths.fashionfail_images("test") / "a.jpg").touch()  # changed since it was checked
    assert describe_dataset(dataset_states()) == ("FashionFail: test: 2/5 images (1 not verified) · val: no annotations · "
                                                  "train: no annotations (fetch: fashionfail-tui dataset fetch --split all)")


def test_an_unreadable_annotation_file_in_the_cache_is_reported_not_replaced(capsys):
    broken = paths.fashionfail_annotations("val")
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b'{"images": [')  # cut short, as an interrupted download by hand leaves it
    assert main(["dataset", "status", "--split", "val", "--json"]) == 0
    [val] = json.loads(capsys.readouterr().out)["splits"]
    assert val["split"] == "val" and val["annotations_present"] and val["expected"] is None
    assert val["problem"].startswith(f"{broken} is not a FashionFail annotation file (not JSON")
    assert main(["dataset", "fetch", "--split", "val"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith("; delete it to fetch it again")
    assert broken.read_bytes() == b'{"images": ['


def test_two_processes_fetching_one_split_fetch_each_image_once(server):
    """Two real processes: the second waits for the first, then finds every good image verified."""
    dataset = serve_mini_dataset(server, delay=0.1)
    command = [sys.executable, "-m", "tui", "dataset", "fetch", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first, second = (subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                      cwd=ROOT) for _ in range(2))
    outputs = [events(process.communicate(timeout=60)[0]) for process in (first, second)]
    assert [first.returncode, second.returncode] == [1, 1]
    summaries = [out[-2] for out in outputs]
    assert [s["verified"] for s in summaries] == [3, 3]
    assert sorted(s["fetched"] for s in summaries) == [0, 3] and sorted(s["present"] for s in summaries) == [0, 3]
    assert [dataset.requests_for(name) for name in GOOD] == [1, 1, 1]
    assert len(server.requests_for("/ff/ff_test.json")) == 1
    assert any(e.get("stage") == "wait" for out in outputs for e in out)
