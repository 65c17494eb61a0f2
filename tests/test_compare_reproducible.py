"""`compare` as a reviewer reads it: a model that fails does not stop the others, comparison.json says
what produced every number (provenance), and `compare --check` reproduces it or names what differs.

Two real ONNX models (facere, facere+) named in the config, run by their real runner."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.comparison import annotated_workspace, use_models
from tui.commands import main
from tui.comparison.check import check_comparison
from tui.comparison.provenance import listing_digest
from tui.errors import UserError
from tui.predictions.formats import FAMILY_CHOICES


def compare(capsys, *argv) -> tuple[int, str, str]:
    code = main(["compare", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def compared_into_out(capsys, workspace, models: str = "facere,facere+"):
    """Compare `models` into workspace/out against anns.json; the comparison.json written."""
    out_dir = workspace / "out"
    assert compare(capsys, "--images", workspace / "images", "--out", out_dir, "--anns", workspace / "anns.json",
                   "--models", models)[0] == 0
    return out_dir / "comparison.json"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path, capsys):
    """The workspace, and annotations made from facere's own run (so the table has two different rows)."""
    annotated_workspace(tmp_path)
    capsys.readouterr()
    return tmp_path


def test_a_model_that_cannot_be_evaluated_is_listed_with_its_fix_and_the_others_are_compared(workspace, capsys):
    """The issue's case: Facere's file imported as facere+ too, so facere+'s output has classes up to 46."""
    use_models(workspace / "facere.onnx", workspace / "facere.onnx")
    out_dir = workspace / "out"
    argv = ["--images", workspace / "images", "--out", out_dir, "--anns", workspace / "anns.json",
            "--models", "facere,facere+"]
    code, out, err = compare(capsys, *argv)
    assert code == 1
    written = json.loads((out_dir / "comparison.json").read_text())
    assert [m["model"] for m in written["models"]] == ["facere"]
    assert [f["model"] for f in written["failed"]] == ["facere+"]
    reason = written["failed"][0]["reason"]
    assert "does not fit facere+" in reason and "fix: rerun the same command with --family facere+=FAMILY" in reason
    assert (out_dir / "report.html").is_file() and "facere+" in (out_dir / "report.html").read_text()
    assert "facere  " in out and "facere+: not compared: " in out  # the table has facere's row
    assert err.strip().splitlines()[-1].startswith("fashionfail-tui: error: facere+ failed: ")

    # the fix the reason names: both compared, nothing run again
    code, out, err = compare(capsys, *argv, "--family", "facere+=facere", "--json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events[1:3]] == ["reused", "reused"]
    final = events[-1]
    assert [m["model"] for m in final["models"]] == ["facere", "facere+"] and final["failed"] == []
    assert final["models"][1]["family"] == "facere"
    # read as facere, facere+'s output is facere's: the same numbers
    assert final["models"][0]["results"][0]["mAP_w"] == final["models"][1]["results"][0]["mAP_w"]


@pytest.mark.parametrize("spec", ["facere+", "facere+=nope", "=facere", "nope=facere"])
def test_a_malformed_family_option_is_one_line(workspace, capsys, spec):
    code, out, err = compare(capsys, "--images", workspace / "images", "--out", workspace / "out",
                             "--family", spec)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not (workspace / "out").exists()


def test_comparison_json_records_what_produced_it(workspace, capsys):
    out_dir = workspace / "out"
    code, _, err = compare(capsys, "--images", workspace / "images", "--out", out_dir, "--anns",
                           workspace / "anns.json", "--models", "facere,facere+")
    assert code == 0, err
    written = json.loads((out_dir / "comparison.json").read_text())
    provenance = written["provenance"]
    assert provenance["python"] == platform.python_version() and provenance["platform"] == platform.platform()
    assert provenance["app_version"] and provenance["created"].endswith("+00:00")
    assert provenance["annotations"] == {"path": str(workspace / "anns.json"), "sha256": sha256(workspace / "anns.json")}
    images = [workspace / "images" / p for p in sorted(p.name for p in (workspace / "images").iterdir())]
    lines = "".join(f"{sha256(p)}  {p.name}\n" for p in images)
    assert provenance["images"] == {"folder": str(workspace / "images"), "count": 4,
                                    "digest": hashlib.sha256(lines.encode()).hexdigest()}
    for entry, onnx in zip(written["models"], ("facere.onnx", "facere-plus.onnx")):
        model_file = workspace / onnx
        assert entry["checkpoint"] == {"path": str(model_file), "bytes": model_file.stat().st_size,
                                       "sha256": sha256(model_file), "paper": False}  # a stand-in of a few kB
        environment = entry["environment"]
        assert environment["backend"] == "app" and environment["python_version"] == platform.python_version()
        assert environment["lock_sha256"] is None
        assert {"numpy", "onnxruntime"} <= set(environment["frameworks"])
        assert entry["source_tree"] is None
        output = out_dir / f"{entry['model']}.npz"
        assert entry["output"] == {"path": str(output), "sha256": sha256(output)}
    assert written["failed"] == []


def test_the_image_digest_is_of_the_contents_not_the_names(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"one")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "1.jpg", tmp_path / "b" / "1.jpg")
    digest = listing_digest([tmp_path / "a" / "1.jpg"])
    assert digest == listing_digest([tmp_path / "b" / "1.jpg"])
    (tmp_path / "b" / "1.jpg").write_bytes(b"two")
    assert digest != listing_digest([tmp_path / "b" / "1.jpg"])


def test_check_reproduces_an_untouched_comparison_and_names_a_swapped_output_first(workspace, capsys):
    comparison = compared_into_out(capsys, workspace)
    out_dir = comparison.parent
    code, out, err = compare(capsys, "--check", comparison)
    assert code == 0, err
    assert out.strip() == "reproduced: 2 model(s), all 20 numbers equal, every output as recorded"

    shutil.copy(out_dir / "facere+.npz", out_dir / "facere.npz")  # facere's output swapped for facere+'s
    code, out, err = compare(capsys, "--check", comparison)
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"facere: {out_dir / 'facere.npz'} changed: sha256 ")
    assert all(line.startswith("facere: ") for line in lines[1:]) and len(lines) > 1
    assert any(line.startswith("facere: mAP_w@.50 (box) was ") for line in lines)
    assert err.strip() == "fashionfail-tui: error: not reproduced: 1 file(s) changed, " \
                          f"{len(lines) - 1} number(s) differ (listed above)"
    code, out, _ = compare(capsys, "--check", comparison, "--json")
    report = json.loads(out.splitlines()[0])
    assert code == 1 and report["reproduced"] is False and len(report["changed_files"]) == 1


def test_check_evaluates_again_rather_than_trusting_the_cache(workspace, capsys):
    """A number edited into comparison.json and into the evaluation cache alike does not fool the check."""
    comparison = compared_into_out(capsys, workspace, "facere")
    out_dir = comparison.parent
    data = json.loads(comparison.read_text())
    true = data["models"][0]["results"][0]["mAP_w75"]
    data["models"][0]["results"][0]["mAP_w75"] = 0.5
    comparison.write_text(json.dumps(data))
    for cached in out_dir.glob("facere.npz.eval-*.json"):
        entry = json.loads(cached.read_text())
        entry["evaluation"]["mAP_w75"] = 0.5
        cached.write_text(json.dumps(entry))
    code, out, _ = compare(capsys, "--check", comparison)
    assert code == 1 and out.strip().splitlines() == [f"facere: mAP_w@.75 (box) was 0.5, now {true}"]


@pytest.mark.parametrize("content, fragment", [
    (None, "does not exist"), ("{", "cannot be read as JSON"), ("[]", "is not a comparison.json"),
    ('{"annotations": "x", "models": [{"model": 1}]}', "is not a comparison.json"),
    ('{"annotations": "/nonexistent/anns.json", "models": []}', "annotations: /nonexistent/anns.json is gone"),
])
def test_check_of_a_broken_comparison_file_is_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "comparison.json"
    if content is not None:
        path.write_text(content)
    code, out, err = compare(capsys, "--check", path)
    assert len(err.strip().splitlines()) == 1 and fragment in out + err and "Traceback" not in err
    assert code == (1 if "is gone" in fragment else 2)


def test_check_of_a_comparison_edited_by_hand_names_what_it_cannot_use(workspace, capsys):
    """Recorded fields of the wrong type or an unknown family are differences, never a crash."""
    comparison = compared_into_out(capsys, workspace)
    data = json.loads(comparison.read_text())
    data["provenance"]["annotations"] = {"path": 5, "sha256": ["x"]}  # falls back to the top-level annotations
    data["models"][0]["output"] = {"path": 7}  # falls back to the model's file, no sha256 to compare
    data["models"][1]["family"] = {"not": "a family"}
    comparison.write_text(json.dumps(data))
    code, out, err = compare(capsys, "--check", comparison)
    assert code == 1 and "Traceback" not in err
    assert out.strip().splitlines() == ["facere+: the recorded family {'not': 'a family'} is not one of "
                                        + ", ".join(FAMILY_CHOICES)]


def test_on_fashionfail_test_the_papers_numbers_stand_beside_ours(workspace, capsys, monkeypatch):
    """The images as `dataset fetch` put them (from a local server) and its ff_test.json: the table,
    comparison.json and the report give the paper's numbers and the difference; a copy of the same
    images elsewhere counts too, other images do not."""
    from fileserver import FileServer

    from tests.helpers.mini_dataset import DELIVERY
    from tui import catalog, paths

    annotations = json.loads((workspace / "anns.json").read_text())
    with FileServer() as server:
        for image in annotations["images"]:
            image["original_url"] = server.url("/images/" + image["file_name"])
            server.serve(DELIVERY + image["file_name"], (workspace / "images" / image["file_name"]).read_bytes())
        server.serve("/ff/ff_test.json", json.dumps(annotations).encode())
        config = paths.config_file()
        config.write_text(config.read_text() + f'[dataset]\nannotations_url = "{server.url("/ff/")}"\n')
        assert main(["dataset", "fetch"]) == 0
    capsys.readouterr()
    test_images = paths.fashionfail_images("test")
    code, out, err = compare(capsys, "--images", test_images, "--out", workspace / "out", "--models", "facere,facere+")
    assert code == 0, err
    written = json.loads((workspace / "out" / "comparison.json").read_text())
    published = written["published"]
    assert published["dataset"] == "FashionFail-test" and [m["model"] for m in published["models"]] == ["facere", "facere+"]
    facere = published["models"][0]
    ours = round(written["models"][0]["results"][0]["mAP_w50"] * 100, 1)
    assert facere["bbox"]["mAP_w50"] == {"paper": 27.5, "reproduced": ours, "difference": round(ours - 27.5, 1)}
    assert facere["segm"]["mAR_w100"]["paper"] == 47.9 and facere["reproduced"] is False
    assert "the paper's numbers on FashionFail-test (box | mask, %), and ours minus the paper's:" in out
    assert "facere (paper)   24.0 | 24.3" in out and "facere: not reproduced; facere+: not reproduced" in out
    report = (workspace / "out" / "report.html").read_text()
    assert "Published beside reproduced" in report and report.count('class="differs">not reproduced') == 2

    # the paper's numbers were ours: reproduced
    mine = {e["model"]: {r["iou_type"]: tuple(round(r[k] * 100, 1) for k in ("mAP_w", "mAP_w50", "mAP_w75", "mAR_w1",
                                                                               "mAR_w100")) for r in e["results"]}
            for e in written["models"]}
    monkeypatch.setitem(catalog.PUBLISHED, "facere", mine["facere"])
    code, out, _ = compare(capsys, "--images", workspace / "images", "--out", workspace / "copy",  # the same images, elsewhere
                           "--models", "facere,facere+")
    assert code == 0 and "facere: reproduced; facere+: not reproduced" in out
    assert 'class="reproduced">reproduced' in (workspace / "copy" / "report.html").read_text()

    (workspace / "images" / "0.jpg").write_bytes((workspace / "images" / "1.jpg").read_bytes())  # other images
    code, out, _ = compare(capsys, "--images", workspace / "images", "--out", workspace / "other", "--models", "facere")
    assert code == 0 and "paper's numbers" not in out
    assert "published" not in json.loads((workspace / "other" / "comparison.json").read_text())


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=20)
_REAL = st.sampled_from(["ANNS", "PREDICTIONS"])
"""Stand for the fuzz test's real annotation and prediction files, so the check gets past reading them."""
_ENTRY = st.fixed_dictionaries({"model": st.text(max_size=8), "results": st.lists(_JSON, max_size=3)},
                               optional={"output": _JSON | st.fixed_dictionaries({"path": _REAL}), "file": _JSON | _REAL,
                                         "family": _JSON | st.sampled_from(["facere", "amrcnn"])})


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(_JSON, st.fixed_dictionaries(
    {"annotations": st.text(max_size=12) | _REAL, "models": st.lists(_ENTRY, max_size=3)}, optional={"provenance": _JSON})))
def test_check_of_any_json_is_an_outcome_or_one_user_error(tmp_path, document):
    """Fuzzed comparison.json documents: check_comparison answers or raises UserError, nothing else."""
    from failure_case import write_case

    if not (tmp_path / "anns.json").exists():
        write_case(tmp_path)
    real = {'"ANNS"': json.dumps(str(tmp_path / "anns.json")), '"PREDICTIONS"': json.dumps(str(tmp_path / "facere.npz"))}
    text = json.dumps(document)
    for stand_in, file in real.items():
        text = text.replace(stand_in, file)
    path = tmp_path / "comparison.json"
    path.write_text(text)
    try:
        outcome = check_comparison(path)
    except UserError:
        return
    assert isinstance(outcome.lines(), list)
