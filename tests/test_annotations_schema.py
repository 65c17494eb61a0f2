"""Annotation JSON from outside: one schema check at the boundary, for `eval`, `failures`, `compare`,
the app's Evaluate (all through `load_ground_truth`) and `dataset fetch` (before a file is kept).

Each hostile file must end in one line naming the file and exit 2, never "unexpected ... (a bug)".
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from evaluation_data import perfect, write_annotations, write_facere_file
from fileserver import FileServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.mini_dataset import serve_mini_dataset
from tui import paths
from tui.commands import main
from tui.errors import UserError
from tui.evaluation import load_ground_truth

BOX = (10, 10, 50, 50)
OBJECTS = {"a.jpg": [(0, BOX)], "b.jpg": [(1, BOX), (0, BOX)]}


def valid(tmp_path: Path) -> dict:
    return json.loads(write_annotations(tmp_path / "valid.json", OBJECTS).read_text())


def deep(levels: int) -> str:
    return '{"images": ' + "[" * levels + "]" * levels + ', "annotations": [], "categories": []}'


def _set(path: tuple, value):
    def change(data: dict) -> dict:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return data
    return change


def _append(key: str, index: int):
    def change(data: dict) -> dict:
        data[key].append(copy.deepcopy(data[key][index]))
        return data
    return change


HOSTILE = {
    "an image id that is a list": (_set(("images", 0, "id"), [1]), r"images\[0\]: 'id' must be an integer"),
    "an image id that is an object": (_set(("images", 1, "id"), {"a": 1}), r"images\[1\]: 'id' must be an integer"),
    "an annotation id that is a list": (_set(("annotations", 0, "id"), [2]),
                                        r"annotations\[0\]: 'id' must be an integer"),
    "an image_id that is an object": (_set(("annotations", 0, "image_id"), {}),
                                      r"annotations\[0\]: 'image_id' must be an integer"),
    "a category_id that is a list": (_set(("annotations", 1, "category_id"), [0]),
                                     r"annotations\[1\]: 'category_id' must be an integer"),
    "an id that is true": (_set(("images", 0, "id"), True), r"images\[0\]: 'id' must be an integer"),
    "an id that is a float": (_set(("images", 0, "id"), 1.5), r"images\[0\]: 'id' must be an integer"),
    "categories that are numbers": (_set(("categories",), [1, 2, 3]), r"categories\[0\] is not an object"),
    "a category id that is a string": (_set(("categories", 3, "id"), "3"),
                                       r"categories\[3\]: 'id' must be an integer"),
    "duplicate image ids": (_append("images", 0), r"images\[2\]: image id 1 is used twice"),
    "duplicate annotation ids": (_append("annotations", 0), r"annotations\[3\]: annotation id 1 is used twice"),
    "duplicate category ids": (_append("categories", 0), r"categories\[27\]: category id 0 is used twice"),
    "an annotation of an image that is not there": (_set(("annotations", 0, "image_id"), 99),
                                                    r"annotations\[0\]: image_id 99 names no image"),
    "an annotation of a category that is not there": (_set(("annotations", 0, "category_id"), 99),
                                                      r"annotations\[0\]: category_id 99 names no category"),
    "an id beyond 64 bits": (_set(("images", 0, "id"), 1 << 70), r"images\[0\]: 'id' must be an integer"),
}


def eval_files(tmp_path: Path) -> Path:
    return write_facere_file(tmp_path / "facere-ff_test.npz", perfect(OBJECTS))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "unexpected" not in err and "a bug" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_annotation_files_are_one_line_in_eval(tmp_path, capsys, case):
    change, message = HOSTILE[case]
    anns = tmp_path / "anns.json"
    anns.write_text(json.dumps(change(valid(tmp_path))))
    assert main(["eval", str(eval_files(tmp_path)), "--anns", str(anns), "--family", "facere"]) == 2
    err = one_error_line(capsys)
    assert err.startswith(f"fashionfail-tui: error: annotation file {anns}: ")
    assert __import__("re").search(message, err), err


@pytest.mark.parametrize("command", ["eval", "failures"])
def test_json_nested_200000_deep_is_one_line_not_a_recursion_error(tmp_path, capsys, command):
    anns = tmp_path / "deep.json"
    anns.write_text(deep(200_000))
    args = [command, str(eval_files(tmp_path)), "--anns", str(anns), "--family", "facere"]
    assert main(args) == 2
    err = one_error_line(capsys)
    assert f"annotation file {anns}: " in err and "nested more than" in err


@pytest.mark.parametrize("case", ["duplicate image ids", "categories that are numbers", "an image id that is a list"])
def test_compare_refuses_a_hostile_annotation_file_before_any_run(tmp_path, capsys, case):
    change, message = HOSTILE[case]
    anns = tmp_path / "anns.json"
    anns.write_text(json.dumps(change(valid(tmp_path))))
    (tmp_path / "images").mkdir()
    assert main(["compare", "--images", str(tmp_path / "images"), "--out", str(tmp_path / "out"),
                 "--models", "facere", "--anns", str(anns)]) == 2
    err = one_error_line(capsys)
    assert f"annotation file {anns}: " in err and __import__("re").search(message, err), err
    assert not (tmp_path / "out" / "facere.npz").exists()


def test_a_valid_file_still_loads(tmp_path):
    truth = load_ground_truth(write_annotations(tmp_path / "anns.json", OBJECTS))
    assert sorted(truth.image_ids) == ["a.jpg", "b.jpg"]


def test_an_annotation_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    from tui import annotation_schema
    monkeypatch.setattr(annotation_schema, "MAX_BYTES", 1000)
    path = write_annotations(tmp_path / "anns.json", OBJECTS)
    with pytest.raises(UserError, match=r"is larger than 1.0 kB"):
        load_ground_truth(path)


# ---- dataset fetch: such a file is never kept --------------------------------------------------

@pytest.fixture
def server():
    with FileServer() as running:
        yield running


@pytest.mark.parametrize("case", ["duplicate image ids", "categories that are numbers", "an image id that is a list",
                                  "an annotation of an image that is not there", "deep"])
def test_dataset_fetch_keeps_no_hostile_annotation_file(server, capsys, case):
    dataset = serve_mini_dataset(server)
    data = {"images": dataset.entries, "annotations": [
        {"id": 1, "image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}],
        "categories": [{"id": 0, "name": "shirt, blouse"}, {"id": 1, "name": "top"}]}
    if case == "deep":
        body = deep(200_000).encode()
    else:
        change, _ = HOSTILE[case]
        body = json.dumps(change(data)).encode()
    server.serve("/ff/ff_test.json", body)
    assert main(["dataset", "fetch"]) == 2
    err = one_error_line(capsys)
    assert "did not send a FashionFail annotation file" in err and "nothing was saved" in err
    assert not paths.fashionfail_annotations("test").exists()
    assert [p.name for p in paths.cache_dir().rglob("ff_test*") if p.suffix != ".lock"] == []


def test_a_hostile_file_already_in_the_cache_is_reported_by_dataset_status_and_fetch(capsys):
    target = paths.fashionfail_annotations("test")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(deep(200_000))
    assert main(["dataset", "fetch"]) == 2
    err = one_error_line(capsys)
    assert "nested more than" in err and "delete it to fetch it again" in err
    assert main(["dataset", "status"]) == 0  # status reports the problem in its table, it does not crash
    assert "Traceback" not in capsys.readouterr().err


# ---- hypothesis: any damage to a valid file loads or is one line -------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8)


def _places(data, prefix=()):
    """Every (container path, key) in `data`: where a value can be replaced or dropped."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return
    for key, value in items:
        yield prefix, key
        yield from _places(value, prefix + (key,))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return valid(tmp_path_factory.mktemp("schema"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_any_damaged_annotation_file_loads_or_is_one_line(template, tmp_path, data):
    document = copy.deepcopy(template)
    for _ in range(data.draw(st.integers(1, 3))):
        places = list(_places(document))
        container_path, key = data.draw(st.sampled_from(places))
        container = document
        for step in container_path:
            container = container[step]
        if data.draw(st.booleans()) and isinstance(container, dict):
            del container[key]
        else:
            container[key] = data.draw(JSON_VALUES)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(document))
    started = time.monotonic()
    try:
        load_ground_truth(path)
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"annotation file {path}: ")
    assert time.monotonic() - started < 5
