"""The figures of docs/speed.md that time whole commands, each from an empty folder.

    python bench/bench_commands.py fetch|env|dataset|compare|failures|cluster [--keep DIR]

Each case builds everything it needs in a new temporary folder (or DIR): the inputs, a cache, data
and config folder of its own, and a local server where the command downloads; then it times the
commands as a user runs them (`python -m tui ...` of this checkout, in a subprocess; wall time and
the child's peak resident memory) and prints one line per command. Inputs are built with the tests'
own helpers (tests/), which this needs importable: run it from the repository root.

  fetch     a 185 MB checkpoint from a loopback `python -m http.server`         `fetch facere`
  env       the tests' `tiny` environment from a local conda channel (embedded) `env create tiny`
  dataset   a 300-image split, 63 kB JPEGs, from the tests' file server          `dataset fetch`, then again
  compare   two Facere-shaped test models over 4 images, with evaluation        `compare`
  failures  1,001 images of 2400x2400, two files of 20 detections an image      `eval`, `failures`, `export`,
            with masks, one annotated object an image                           report.html
  cluster   64 images of 1024x768 through a Facere-shaped model on the tests'   `run`, `cluster submit
            one-node SLURM cluster (needs Debian's slurm-wlm and munge)          --shards 4 --merge`, `merge`
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def environment(home: Path) -> dict[str, str]:
    """This process's environment with the cache, data and config folders under `home` (set here too,
    so that the tests' helpers write where the commands read)."""
    home.mkdir(parents=True, exist_ok=True)
    folders = {"FASHIONFAIL_TUI_CACHE_DIR": str(home / "cache"), "FASHIONFAIL_TUI_DATA_DIR": str(home / "data"),
               "FASHIONFAIL_TUI_CONFIG": str(home / "config.toml")}
    os.environ.update(folders)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="160")
    return env


def timed(label: str, *args, env: dict[str, str], check: bool = True) -> float:
    """`fashionfail-tui ARGS` as a subprocess: prints and returns its wall time; its peak RSS beside."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tui", *map(str, args)], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"{label}: exit {done.returncode}\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    memory = f", peak RSS {peak / 1024:.0f} MB" if peak > before else ""
    print(f"{label:44} {seconds:7.2f} s{memory}", flush=True)
    return seconds


def warm_up(env: dict[str, str]) -> None:
    """One `--help`, so that the timed commands find the bytecode caches an installed package has."""
    subprocess.run([sys.executable, "-m", "tui", "--help"], env=env, cwd=ROOT, capture_output=True, check=True)


@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[str]:
    """`python -m http.server` on a free loopback port serving `folder`; yields its base URL."""
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "-d", str(folder)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        yield line.split("(")[1].split(")")[0].rstrip("/")
    finally:
        server.terminate()
        server.wait()


def bench_fetch(work: Path, env: dict[str, str]) -> None:
    served = work / "served"
    served.mkdir()
    checkpoint = served / "facere_base.onnx"
    digest = hashlib.sha256()
    with checkpoint.open("wb") as handle:
        for _ in range(185):
            chunk = os.urandom(1 << 20)
            digest.update(chunk)
            handle.write(chunk)
    with http_server(served) as base:
        Path(env["FASHIONFAIL_TUI_CONFIG"]).write_text(
            f'[models.facere]\nurl = "{base}/facere_base.onnx"\nsha256 = "{digest.hexdigest()}"\n')
        print(f"185 MB checkpoint from {base} (python -m http.server)")
        warm_up(env)
        timed("fetch facere (download and sha256)", "fetch", "facere", env=env)
        timed("fetch facere again (verified, nothing fetched)", "fetch", "facere", env=env)


def bench_env(work: Path, env: dict[str, str]) -> None:
    from conda_channel import build_channel, write_spec

    channel = build_channel(work)
    write_spec(work / "specs", "tiny", channel)
    Path(env["FASHIONFAIL_TUI_CONFIG"]).write_text(
        f'[environments]\nbackend = "embedded"\nspecs = "{work / "specs"}"\n')
    print(f"the tests' tiny environment from the local channel {channel}")
    warm_up(env)
    timed("env create tiny (solve to ready)", "env", "create", "tiny", env=env)
    timed("env verify tiny", "env", "verify", "tiny", env=env)


def noise_jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG of smooth noise, about 60 kB: as costly to decode and check as a photo of its size."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def bench_dataset(work: Path, env: dict[str, str], images: int = 300) -> None:
    from fileserver import FileServer
    from tests.helpers.mini_dataset import DELIVERY, MiniDataset, entry

    with FileServer() as server:
        dataset = MiniDataset(server, "test")
        sizes = []
        for index in range(images):
            name = f"{index:04d}.jpg"
            body = noise_jpeg(index)
            sizes.append(len(body))
            server.serve(DELIVERY + name, body)
            dataset.entries.append(entry(index, name, server.url("/images/" + name), (320, 240)))
        dataset.publish()
        Path(env["FASHIONFAIL_TUI_CONFIG"]).write_text(f'[dataset]\nannotations_url = "{server.url("/ff/")}"\n')
        print(f"{images} images of {sum(sizes) / len(sizes) / 1000:.0f} kB (mean) from the tests' file server, "
              "8 workers")
        warm_up(env)
        first = timed("dataset fetch (first)", "dataset", "fetch", env=env)
        asked = sum(dataset.requests_for(name) for name in dataset.images)
        print(f"  {images / first:.0f} images/s; {asked} image requests")
        timed("dataset fetch (again)", "dataset", "fetch", env=env)
        print(f"  image requests by the rerun: {sum(dataset.requests_for(n) for n in dataset.images) - asked}")


def bench_compare(work: Path, env: dict[str, str]) -> None:
    from tests.helpers.comparison import annotations_from, make_workspace

    make_workspace(work, images=4)
    warm_up(env)
    subprocess.run([sys.executable, "-m", "tui", "run", "facere", "--images", work / "images", "--out",
                    work / "reference"], env=env, cwd=ROOT, check=True, capture_output=True)
    annotations_from(work / "reference" / "facere.npz", work / "anns.json")
    print("two Facere-shaped test models (tests/helpers/comparison.py) over 4 images of 64x48")
    timed("compare (2 runs, evaluation, failures, report)", "compare", "--images", work / "images", "--out",
          work / "runs", "--anns", work / "anns.json", env=env)


FF_TEST_IMAGES, FF_SIZE = 1001, 2400


def write_ff_test_like(path: Path, seed: int = 0) -> Path:
    """A FashionFail-test-sized annotation file: 1,001 images of 2400x2400, one object each (RLE mask)."""
    import numpy as np
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(seed)
    images, annotations = [], []
    for index in range(FF_TEST_IMAGES):
        x, y = rng.uniform(100, 1600, 2)
        w, h = rng.uniform(200, 700, 2)
        rle = mask_utils.frPyObjects([[x, y, x + w, y, x + w, y + h, x, y + h]], FF_SIZE, FF_SIZE)[0]
        images.append({"id": index + 1, "file_name": f"{index:06d}.jpg", "height": FF_SIZE, "width": FF_SIZE})
        annotations.append({"id": index + 1, "image_id": index + 1, "category_id": int(rng.integers(0, 27)),
                            "bbox": [x, y, w, h], "area": float(mask_utils.area(rle)), "iscrowd": 0,
                            "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
    categories = [{"id": c, "name": f"category {c}", "supercategory": "x"} for c in range(27)]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def write_facere_like(path: Path, detections: int, seed: int) -> Path:
    """A Facere-format file over the same 1,001 images: yxyx boxes, classes 1..46, rectangle RLE masks."""
    import numpy as np
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(seed)
    records = []
    for index in range(FF_TEST_IMAGES):
        xy = rng.uniform(0, FF_SIZE - 800, (detections, 2))
        wh = rng.uniform(50, 800, (detections, 2))
        masks = mask_utils.frPyObjects(np.column_stack([xy, wh]), FF_SIZE, FF_SIZE)
        records.append({
            "image_file": f"{index:06d}.jpg",
            "boxes": np.column_stack([xy[:, 1], xy[:, 0], xy[:, 1] + wh[:, 1], xy[:, 0] + wh[:, 0]]).astype(np.float32),
            "classes": rng.integers(1, 47, detections).astype(np.int64),
            "scores": np.sort(rng.uniform(0.05, 1, detections).astype(np.float32))[::-1],
            "masks": [{"size": m["size"], "counts": m["counts"]} for m in masks],
        })
    np.savez_compressed(path, data=np.array(records, dtype=object),
                        meta=json.dumps({"family": "facere", "model": "facere"}))
    return path


def bench_failures(work: Path, env: dict[str, str], detections: int = 20) -> None:
    anns = write_ff_test_like(work / "ff_test.json")
    first = write_facere_like(work / "A.npz", detections, seed=1)
    second = write_facere_like(work / "B.npz", detections, seed=2)
    print(f"{FF_TEST_IMAGES} images of {FF_SIZE}x{FF_SIZE}, one object each; two files of {detections} "
          "detections an image, masks included")
    warm_up(env)
    for name in (first, second):
        timed(f"eval {name.name} --iou both", "eval", name, "--anns", anns, "--family", "facere", env=env)
    timed("failures (boxes)", "failures", first, second, "--anns", anns, "--family", "facere", env=env)
    timed("failures --iou segm (masks)", "failures", first, second, "--anns", anns, "--family", "facere",
          "--iou", "segm", env=env)
    coco, csv = work / "A.coco.json", work / "A.csv"
    timed("export --format coco", "export", first, "--format", "coco", "--out", coco, "--anns", anns,
          "--family", "facere", env=env)
    print(f"  {coco.stat().st_size / 1e6:.1f} MB")
    timed("export --format csv", "export", first, "--format", "csv", "--out", csv, "--family", "facere", env=env)
    print(f"  {sum(1 for _ in csv.open()) - 1:,} rows")
    report_seconds(work, first, second, anns, write_plain_images(work / "images"))


def write_plain_images(folder: Path) -> Path:
    """The 1,001 photos as plain JPEGs of 2400x2400 (one colour each: quick to write), for the report's pictures."""
    from PIL import Image

    folder.mkdir()
    for index in range(FF_TEST_IMAGES):
        colour = (index * 37 % 256, index * 91 % 256, index * 53 % 256)
        Image.new("RGB", (FF_SIZE, FF_SIZE), colour).save(folder / f"{index:06d}.jpg", quality=80)
    return folder


def report_seconds(work: Path, first: Path, second: Path, anns: Path, images: Path) -> None:
    """report.html for the two files with the failure cases' pictures (the evaluations cached by the
    eval runs above), timed here in-process."""
    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.failures import find_failures, load_models
    from tui.evaluation.report import comparison
    from tui.evaluation.report_html import write_report

    evaluator = Evaluator(anns)
    evaluations = [e for name in (first, second) for e in evaluator.evaluate(name, ("bbox", "segm"), family="facere")]
    start = time.perf_counter()
    cases = find_failures(load_models([first, second], family="facere"), evaluator.truth)
    report = write_report(work / "report.html", comparison(evaluator.annotations, evaluations), cases, images=images)
    print(f"{'report.html (failure cases and pictures)':44} {time.perf_counter() - start:7.2f} s "
          f"({report.stat().st_size / 1e6:.1f} MB)")


def bench_cluster(work: Path, env: dict[str, str], images: int = 64) -> None:
    from tests.helpers.images import write_image
    from tests.helpers.onnx_models import build_maskrcnn_like
    from tests.helpers.slurm_cluster import LocalSlurm, SlurmUnavailable

    if not shutil.which("slurmctld"):
        raise SystemExit("cluster: needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge)")
    model = build_maskrcnn_like(work / "model.onnx", detections=10, backbone_layers=8, backbone_channels=64)
    for index in range(images):
        write_image(work / "images" / f"{index:03d}.jpg", size=(1024, 768), seed=index)
    cluster = LocalSlurm(work / "slurm")
    try:
        cluster.start()
    except SlurmUnavailable as exc:
        raise SystemExit(f"cluster: the local SLURM cluster did not start: {exc}") from None
    try:
        env = {**env, **cluster.env}
        print(f"{images} images of 1024x768, a Facere-shaped model (8 conv layers, 64 channels), one-node SLURM")
        warm_up(env)
        single = timed("run (one process)", "run", "facere", "--images", work / "images", "--out", work / "single",
                       "--model-file", model, env=env)
        print(f"  {images / single:.2f} images/s")
        start = time.perf_counter()
        submitted = subprocess.run([sys.executable, "-m", "tui", "cluster", "submit", "facere", "--images",
                                    work / "images", "--out", work / "sharded", "--shards", "4", "--model-file",
                                    model, "--merge", "--json"], env=env, cwd=ROOT, check=True, capture_output=True,
                                   text=True)
        job = json.loads(submitted.stdout)["job_id"]
        while True:
            status = json.loads(subprocess.run([sys.executable, "-m", "tui", "cluster", "status", job, "--json"],
                                               env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
            if status["merge_state"] in ("done", "failed"):
                break
            time.sleep(0.5)
        print(f"{'cluster submit --shards 4 --merge, to merged':44} {time.perf_counter() - start:7.2f} s "
              f"(merge job {status['merge_state']})")
        shards = sorted((work / "sharded").glob("facere.shard-*.npz"))
        timed(f"merge of {len(shards)} shards", "merge", *shards, "--out", work / "merged.npz", env=env)
    finally:
        cluster.stop()


CASES = {"fetch": bench_fetch, "env": bench_env, "dataset": bench_dataset, "compare": bench_compare,
         "failures": bench_failures, "cluster": bench_cluster}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("case", choices=tuple(CASES))
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build in DIR (created, must be new) and keep it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
        work = args.keep.resolve()
        CASES[args.case](work, environment(work / "home"))
    else:
        with tempfile.TemporaryDirectory(prefix=f"fashionfail-bench-{args.case}-") as folder:
            CASES[args.case](Path(folder), environment(Path(folder) / "home"))
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
