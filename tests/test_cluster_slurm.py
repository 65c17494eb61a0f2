"""Cluster runs against a REAL single-node SLURM cluster that this module starts on loopback
(its own munged, slurmctld and slurmd, config and ports in a temporary folder; stopped at the end).
Skipped, with the reason, where Debian's slurm-wlm and munge are missing or the daemons cannot start.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.helpers.runs import assert_same_records, cli, load_predictions, single_run_workload
from tests.helpers.slurm_cluster import LocalSlurm, SlurmUnavailable
from tui.cluster import record, slurm
from tui.cluster.status import job_status

pytestmark = pytest.mark.slurm
WAIT_S = 45


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except SlurmUnavailable as exc:
        pytest.skip(f"no local SLURM cluster: {exc}")
    previous = os.environ.get("SLURM_CONF")
    os.environ.update(cluster.env)
    yield cluster
    cluster.stop()
    if previous is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = previous




def wait_until_finished(job_id: str, timeout: float = WAIT_S) -> dict:
    """Poll `cluster status --json` (as a user would) until every task ended; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads(cli("cluster", "status", job_id, "--json").stdout)
        ended = all(t["state"] in ("done", "failed") for t in status["tasks"])
        if ended and status["merge_state"] in (None, "done", "failed"):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still unfinished after {timeout:.0f} s: {status}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    """Nine images, a generated Facere-shaped model, and the single run the cluster must reproduce."""
    return single_run_workload(tmp_path_factory.mktemp("workload"), images=9, detections=3)


def submit(workload: Path, out: Path, *extra: str, model: Path | None = None) -> str:
    result = cli("cluster", "submit", "facere", "--images", workload / "images", "--out", out,
                 "--model-file", model or workload / "model.onnx", "--shards", "3", "--json", *extra)
    return json.loads(result.stdout)["job_id"]






def test_three_shards_run_as_an_array_and_merge_to_the_single_run(slurm_cluster, workload, tmp_path):
    out = tmp_path / "cluster"
    job_id = submit(workload, out, "--merge")
    script = (out / "facere.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and '--shard "$SLURM_ARRAY_TASK_ID/3"' in script

    status = wait_until_finished(job_id)
    assert [(t["shard"], t["state"], t["done"], t["total"]) for t in status["tasks"]] == [
        (0, "done", 3, 3), (1, "done", 3, 3), (2, "done", 3, 3)]
    assert status["merge_state"] == "done" and status["merged"] == str(out / "facere.npz")
    assert_same_records(load_predictions(out / "facere.npz")[0],
                        load_predictions(workload / "single" / "facere.npz")[0])
    assert "shard 1/3 of job" in (out / "logs" / "facere.shard-001.log").read_text()

    listing = cli("cluster", "status").stdout
    assert job_id in listing and "9/9 images; 3 done" in listing
    again = cli("cluster", "merge", str(out))
    assert again.stdout.strip() == f"merged 3 shards into {out / 'facere.npz'}"


def test_an_output_folder_with_spaces_and_a_hash_runs_and_merges(slurm_cluster, workload, tmp_path):
    """sbatch reads `#SBATCH` lines itself: a space splits the value and `#` starts a comment."""
    out = tmp_path / "shared disk #2" / "run out"
    job_id = submit(workload, out, "--merge")
    status = wait_until_finished(job_id)
    assert [t["state"] for t in status["tasks"]] == ["done"] * 3
    assert status["merge_state"] == "done" and (out / "facere.npz").is_file()
    assert "shard 0/3 of job" in (out / "logs" / "facere.shard-000.log").read_text()


def test_a_failed_task_is_reported_with_its_log_and_resubmitted(slurm_cluster, workload, tmp_path):
    """The model file breaks while the job waits in the queue (a down partition holds it): every
    shard fails with the run's own error in its log; once the file is fixed, resubmitting reruns them."""
    model = tmp_path / "model.onnx"
    model.write_bytes((workload / "model.onnx").read_bytes())
    slurm_cluster.set_partition("DOWN")
    try:
        job_id = submit(workload, tmp_path / "out", model=model)
        pending = json.loads(cli("cluster", "status", job_id, "--json").stdout)
        assert {(t["state"], t["detail"]) for t in pending["tasks"]} == {("pending", "PENDING (PartitionDown)")}
        model.write_bytes(b"truncated by a full disk")
    finally:
        slurm_cluster.set_partition("UP")

    status = wait_until_finished(job_id)
    assert [t["state"] for t in status["tasks"]] == ["failed"] * 3
    assert {t["detail"] for t in status["tasks"]} == {"exit 2"}
    assert "is not a valid ONNX model" in status["tasks"][0]["log_tail"][-1]
    text = cli("cluster", "status", job_id).stdout
    assert "shard 2 failed" in text and "is not a valid ONNX model" in text
    refused = cli("cluster", "merge", job_id, check=False)
    assert refused.returncode == 2 and "shards 0, 1, 2 are not done yet" in refused.stderr

    model.write_bytes((workload / "model.onnx").read_bytes())
    resubmitted = json.loads(cli("cluster", "resubmit", job_id, "--json").stdout)
    assert resubmitted["shards"] == [0, 1, 2] and resubmitted["job_id"] != job_id
    status = wait_until_finished(job_id)
    assert [(t["state"], t["job_id"]) for t in status["tasks"]] == [("done", resubmitted["job_id"])] * 3
    cli("cluster", "merge", job_id)
    assert_same_records(load_predictions(tmp_path / "out" / "facere.npz")[0],
                        load_predictions(workload / "single" / "facere.npz")[0])


def both_ways(job, monkeypatch) -> tuple:
    """Each shard's (state, detail) read through `squeue --json`, then through squeue's text output:
    the two must agree."""
    states = []
    for json_squeue in (True, False):
        monkeypatch.setattr(slurm, "_json_squeue", json_squeue)
        status = job_status(job)
        states.append(([(t.state, t.detail) for t in status.tasks], status.merge_state))
    assert states[0] == states[1]
    return states[0]


def test_cancel_stops_the_array_and_its_merge_job(slurm_cluster, workload, tmp_path, monkeypatch):
    slurm_cluster.set_partition("DOWN")
    try:
        job_id = submit(workload, tmp_path / "out", "--merge")
        job = record.find(job_id)
        assert both_ways(job, monkeypatch) == ([("pending", "PENDING (PartitionDown)")] * 3, "pending")
        cancelled = json.loads(cli("cluster", "cancel", job_id, "--json").stdout)["cancelled"]
    finally:
        slurm_cluster.set_partition("UP")
    assert cancelled == sorted([job_id, job.merge_job_id])
    assert both_ways(job, monkeypatch) == ([("failed", "CANCELLED (PartitionDown)")] * 3, "failed")


def test_what_sbatch_refuses_is_one_line_and_records_nothing(slurm_cluster, workload, tmp_path):
    refused = cli("cluster", "submit", "facere", "--images", workload / "images", "--out", tmp_path / "out",
                  "--model-file", workload / "model.onnx", "--shards", "3", "--partition", "gpu", check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith("fashionfail-tui: error: sbatch refused facere.sbatch: ")
    assert refused.stderr.endswith(": Batch job submission failed: Invalid partition name specified\n")
    assert not (tmp_path / "out" / "facere.cluster.json").exists()
