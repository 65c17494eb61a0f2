"""SLURM's outputs as parsed by tui.cluster.slurm, the job script, and status from files alone.

The JSON samples follow the shapes of SLURM's OpenAPI v0.0.38 (22.05, what Debian ships) and
v0.0.40 (23.11: numbers wrapped in {set, number}, states as lists), so both keep working.
"""

import json
import subprocess

import pytest

from tui.cluster import operations, slurm
from tui.cluster.record import ClusterJob, find, known_jobs
from tui.cluster.status import job_status
from tui.errors import UserError
from tui.runs.shards import Shard
from tui.units import human_duration


def test_task_lists_expand_like_slurm_writes_them():
    assert slurm.expand_task_ids("0-3,7,9-13:2%4") == [0, 1, 2, 3, 7, 9, 11, 13]
    assert slurm.expand_task_ids("[5]") == [5]
    with pytest.raises(ValueError):
        slurm.expand_task_ids("a-b")


def test_squeue_json_of_22_05_expands_the_pending_range():
    text = json.dumps({"jobs": [
        {"job_id": 7, "array_job_id": 7, "array_task_id": None, "array_task_string": "2-3",
         "job_state": "PENDING", "state_reason": "Resources", "exit_code": 0, "start_time": 0},
        {"job_id": 8, "array_job_id": 7, "array_task_id": 0, "array_task_string": "",
         "job_state": "FAILED", "state_reason": "NonZeroExitCode", "exit_code": 768, "start_time": 1795748776},
        {"job_id": 9, "array_job_id": 6, "array_task_id": 0, "job_state": "RUNNING"},
    ]})
    records = {r.task: r for r in slurm.parse_squeue_json(text, "7")}
    assert sorted(records) == [0, 2, 3]
    assert records[2].state == "PENDING" and records[2].reason == "Resources"
    assert records[0].exit_code == 3 and records[0].start_time == "1795748776"


def test_squeue_json_of_23_11_unwraps_numbers_and_states():
    text = json.dumps({"jobs": [
        {"job_id": 12, "array_job_id": {"set": True, "number": 11}, "array_task_id": {"set": True, "number": 1},
         "job_state": ["RUNNING"], "state_reason": "None",
         "exit_code": {"status": ["SUCCESS"], "return_code": {"set": True, "number": 0}}},
        {"job_id": 20, "array_job_id": {"set": True, "number": 0}, "array_task_id": {"set": False, "number": 0},
         "array_task_string": "", "job_state": ["PENDING", "REQUEUED"], "state_reason": "Dependency"},
    ]})
    assert [(r.task, r.state) for r in slurm.parse_squeue_json(text, "11")] == [(1, "RUNNING")]
    merge = slurm.parse_squeue_json(text, "20")
    assert [(r.task, r.state, r.reason) for r in merge] == [(None, "PENDING", "Dependency")]


def test_squeue_text_and_scontrol_lines():
    assert slurm.parse_squeue_text("2|PENDING|Resources|N/A\n0|RUNNING|None|2026-11-27T03:06:16\n") == [
        slurm.TaskRecord(2, "PENDING", "Resources"), slurm.TaskRecord(0, "RUNNING", "", None, "2026-11-27T03:06:16")]
    line = ("JobId=4 ArrayJobId=3 ArrayTaskId=1 JobName=ff-facere UserId=root(0) JobState=FAILED "
            "Reason=NonZeroExitCode Dependency=(null) ExitCode=2:0 StartTime=2026-11-27T03:06:20 EndTime=x")
    assert slurm.parse_scontrol(line) == [slurm.TaskRecord(1, "FAILED", "NonZeroExitCode", 2, "2026-11-27T03:06:20")]
    pending = "JobId=3 ArrayJobId=3 ArrayTaskId=2-4%2 JobState=PENDING Reason=Priority ExitCode=0:0 StartTime=Unknown"
    assert [r.task for r in slurm.parse_scontrol(pending)] == [2, 3, 4]


def _request(tmp_path, **extra):
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    return operations.SubmitRequest(model="facere", images=images, out=tmp_path / "out", shards=3, **extra)


def test_the_job_script_runs_one_shard_per_array_task(tmp_path):
    job = operations.prepare(_request(tmp_path, partition="gpu", gpus_per_task=1, time_limit="01:30:00",
                                      device="cuda", model_file=tmp_path / "my model.onnx", merge=True), 10)
    text = job.script_path.read_text()
    assert subprocess.run(["bash", "-n", str(job.script_path)]).returncode == 0
    for line in ("#SBATCH --array=0-2", f"#SBATCH --chdir={job.out}", "#SBATCH --partition=gpu",
                 "#SBATCH --gpus-per-task=1", "#SBATCH --ntasks=1",
                 "#SBATCH --time=01:30:00", f"#SBATCH --output={job.out}/logs/facere.shard-%3a.log"):
        assert line in text.splitlines()
    assert ' run facere ' in text and '--shard "$SLURM_ARRAY_TASK_ID/3"' in text and "--device cuda" in text
    assert f"--model-file '{tmp_path}/my model.onnx'" in text
    assert f"cluster merge {job.record_path}" in job.merge_script_path.read_text()
    assert not job.record_path.exists(), "nothing is recorded before sbatch accepted the job"


def test_prepare_refuses_fewer_images_than_shards(tmp_path):
    with pytest.raises(UserError, match="2 images: too few for 3 shards"):
        operations.prepare(_request(tmp_path), 2)


def test_status_from_files_alone_once_every_task_has_ended(tmp_path):
    """Shard files and exit statuses settle every shard, so SLURM is not asked (none is configured here)."""
    job = operations.prepare(_request(tmp_path), 10)
    job.submissions.append(operations.Submission("41", [0, 1, 2], 0.0))
    job.save()
    job.shard_file(Shard(0, 3)).write_bytes(b"")
    job.shard_file(Shard(2, 3)).write_bytes(b"")
    job.log_file(Shard(1, 3)).write_text("loading\n" + "".join(f"line {i}\n" for i in range(20)) + "error: boom\n")
    job.exit_file(Shard(1, 3)).write_text("1\n")
    status = job_status(find("41"))
    assert [t.state for t in status.tasks] == ["done", "failed", "done"]
    assert [t.done for t in status.tasks] == [3, 0, 4]
    failed = status.tasks[1]
    assert failed.detail == "exit 1" and failed.log_tail[-1] == "error: boom" and len(failed.log_tail) == 12
    assert status.finished and not status.all_done and status.summary.startswith("7/10 images; 2 done, 1 failed")
    assert [j.record_path for j in known_jobs()] == [job.record_path]
    assert find(str(job.out)).job_id == "41"
    with pytest.raises(UserError, match="no cluster job '42'"):
        find("42")


def test_durations_read_naturally():
    assert [human_duration(s) for s in (None, 42, 425, 11520)] == ["-", "42s", "7m05s", "3h12m"]


def test_shard_numbers_are_zero_based_and_cover_the_list_once():
    items = list(range(1001))
    parts = [Shard(i, 16).select(items) for i in range(16)]
    assert sum(parts, []) == items and {len(p) for p in parts} == {62, 63}
    assert Shard.parse(" 3/16").file_name("facere") == "facere.shard-003-of-016.npz"
    for bad in ("16/16", "1/0", "-1/3", "3", "a/b"):
        with pytest.raises(UserError):
            Shard.parse(bad)


def test_unknown_job_record_is_a_user_error(tmp_path):
    broken = tmp_path / "facere.cluster.json"
    broken.write_text("{not json")
    with pytest.raises(UserError, match="cannot read the cluster job record"):
        ClusterJob.load(broken)


def test_a_submitted_run_is_never_overwritten_by_another(tmp_path):
    job = operations.prepare(_request(tmp_path), 10)
    job.submissions.append(operations.Submission("77", [0, 1, 2], 0.0))
    job.save()
    with pytest.raises(UserError, match=r"already holds a cluster run of facere \(job 77\)"):
        operations.prepare(_request(tmp_path), 10)
