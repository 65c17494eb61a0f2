"""The garbage collector's pause around reading and evaluating: overlapping pauses in worker threads
end with the collector as it was before the first, whatever happens inside."""

import gc
import threading

import pytest

from tui.collector import collector_paused


@pytest.fixture
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_overlapping_pauses_in_two_threads_end_with_the_last_one(collector_on):
    first_inside, first_may_leave = threading.Event(), threading.Event()

    def first():
        with collector_paused():
            first_inside.set()
            first_may_leave.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(10)
    with collector_paused():
        first_may_leave.set()
        thread.join(10)
        assert not gc.isenabled()  # the first has left; this one is still inside
    assert gc.isenabled()


def test_an_error_inside_still_turns_the_collector_back_on(collector_on):
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_an_evaluation_leaves_the_collector_on_with_its_numbers_right(collector_on, tmp_path):
    from evaluation_data import perfect, write_annotations, write_facere_file
    from tui.evaluation.evaluator import Evaluator

    objects = {"a.jpg": [(0, (10, 10, 60, 70))], "b.jpg": [(23, (20, 5, 90, 50))]}
    annotations = write_annotations(tmp_path / "anns.json", objects)
    found = write_facere_file(tmp_path / "facere.npz", perfect(objects))
    evaluations = Evaluator(annotations).evaluate(found, family="facere")
    assert [(e.iou_type, round(e.mAP_w, 6), e.detections) for e in evaluations] == [("bbox", 1.0, 2), ("segm", 1.0, 2)]
    assert gc.isenabled()
