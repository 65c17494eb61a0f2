"""The Cluster screen over a recorded cluster run: a job folder whose shards have all ended, so the
screen's status comes from the files alone and no SLURM is needed (the live cluster is exercised
in test_cluster_slurm.py)."""


import numpy as np

from tui.app import FashionFailApp, LaunchOptions
from tui.cluster.operations import SubmitRequest, prepare
from tui.cluster.record import Submission
from tui.runs.runner_files import run_files
from tui.runs.shards import Shard
from tui.screens.browse import BrowseScreen
from tui.screens.cluster import ClusterScreen


def recorded_job(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    job = prepare(SubmitRequest("facere", images, tmp_path / "out", shards=4), 1001)
    job.submissions.append(Submission("118", [0, 1, 2, 3], 1795750000.0))
    job.save()
    for index in (0, 1, 3):
        job.shard_file(Shard(index, 4)).write_bytes(b"")
    failed = Shard(2, 4)
    job.log_file(failed).write_text("shard 2/4 of job 118 on node07\nfashionfail-tui: error: model file "
                                    "/data/facere_base.onnx is not a valid ONNX model (DecodeError)\n")
    job.exit_file(failed).write_text("2\n")
    return job


async def test_screenshot_cluster_screen_shows_each_shard_and_the_failed_ones_log(tmp_path, screenshot_dir):
    job = recorded_job(tmp_path)
    app = FashionFailApp(LaunchOptions(mode="cluster"))
    async with app.run_test(size=(150, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert screen.job_list.selected_job == "118"
        states = [str(screen.task_table.get_row(str(i))[2]) for i in range(4)]
        assert states == ["done", "done", "failed", "done"]
        assert str(screen.task_table.get_row("1")[3]) == "250/250"
        summary = str(screen.summary.render())
        assert "751/1001 images; 3 done, 1 failed" in summary and str(job.out) in summary
        assert screen.log_tail.has_class("hidden")

        screen.task_table.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert not screen.log_tail.has_class("hidden")
        assert "is not a valid ONNX model" in str(screen.log_tail.render())
        app.save_screenshot(filename="cluster.svg", path=str(screenshot_dir))

        await pilot.press("o")
        await pilot.pause()
        assert any("merge the shards first" in n.message for n in app._notifications)


async def test_resubmitting_without_slurm_is_a_notification_not_a_traceback(tmp_path, monkeypatch):
    recorded_job(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    app = FashionFailApp(LaunchOptions(mode="cluster"))
    async with app.run_test(size=(150, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f", "y")  # f asks first
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = [n for n in app._notifications if n.severity == "error"]
        said = [n.message for n in errors]  # (a poll while it asked may say squeue is missing too)
        assert "'sbatch' is not installed here: run this on a SLURM login node" in said
        assert all("\n" not in message and "Traceback" not in message for message in said)


def finished_job(tmp_path):
    """Three shards whose files are real prediction files (tiny, written by the runners' own writer)."""
    images = tmp_path / "images"
    images.mkdir()
    job = prepare(SubmitRequest("facere", images, tmp_path / "out", shards=3), 3)
    job.submissions.append(Submission("207", [0, 1, 2], 1795750000.0))
    job.save()
    common = run_files()
    for index in range(3):
        record = {"image_file": f"img{index}.jpg", "boxes": np.zeros((0, 4), np.float32),
                  "classes": np.zeros(0, np.int64), "scores": np.zeros(0, np.float32), "masks": []}
        meta = {"model": "facere", "image_set": {"count": 3, "sha256": "abc"}, "images": 1, "detections": 0,
                "started": f"2026-11-27T03:0{index}:00+00:00", "finished": f"2026-11-27T03:0{index}:30+00:00",
                "shard": {"index": index, "count": 3}, "timings": {f"img{index}.jpg": {"infer": 0.1}}}
        common.write_npz_atomically(str(job.shard_file(Shard(index, 3))), [record], meta)
    return job


async def test_merging_from_the_screen_then_opening_the_result_in_the_browser(tmp_path):
    job = finished_job(tmp_path)
    app = FashionFailApp(LaunchOptions(mode="cluster"))
    async with app.run_test(size=(150, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ClusterScreen)  # nothing merged yet: nothing to open
        await pilot.press("c", "y")  # c asks first
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert job.merged_path.is_file()
        assert f"merged: {job.merged_path}" in str(app.screen.summary.render())
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, BrowseScreen) and app.screen.files == [job.merged_path]


async def test_with_no_run_every_key_says_there_is_none_selected():
    app = FashionFailApp(LaunchOptions(mode="cluster"))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        for key in "fxco":
            await pilot.press(key)
            await pilot.pause()
        assert [n.message for n in app._notifications] == ["no cluster run selected"] * 4


async def test_every_screen_action_is_in_the_command_palette(tmp_path):
    """ctrl+p lists the screen's own actions (not only the area switches), and running one works."""
    recorded_job(tmp_path)
    app = FashionFailApp(LaunchOptions(mode="cluster"))
    async with app.run_test(size=(150, 36)) as pilot:
        await app.workers.wait_for_complete()
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Combine shards", "Resubmit failed", "Cancel", "Open in browser", "Go to Models"} <= set(commands)
        await commands["Open in browser"].callback()  # what the palette runs
        await pilot.pause()
        assert any("merge the shards first" in n.message for n in app._notifications)
