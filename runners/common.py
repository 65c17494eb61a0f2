"""What every runner shares: the resumable journal, signals, the pipeline, the run itself.

A runner supplies only a `Predictor` (load the model; prepare, infer and finish one image) and
calls `run(args, load_predictor)` with arguments from `argument_parser`. Everything else lives here:

- images and output: which images a run reads (`--shard I/N` keeps the I-th, 0-based, of N
  contiguous parts of the sorted list) and how its `.npz` is written are in run_files.py, which
  the app loads too;
- progress: `<output>.progress.json` says how far the run is (for watchers on a shared file
  system, such as `cluster status`); removed with the journal;
- journal: every finished image is appended to `<output>.journal` (JSON lines, no pickle) and
  flushed at once, with the image file's size and mtime, so SIGINT/SIGTERM (or even SIGKILL)
  keeps what is done and rerunning the same command skips it, unless the file was replaced
  since; the journal is removed once the output is written;
- names: an image whose file name is not valid UTF-8 is skipped with a warning, named with the
  bad bytes escaped (`caf\\xe9.jpg`): its name could not be stored as text in the output;
- signals: the first SIGINT/SIGTERM finishes the image in flight and stops cleanly (an `error`
  event saying so); a second one kills at once (the journal is still good). A runner whose
  parent process dies stops the same way (nobody reads its events or could cancel it, and it
  holds the output's lock), and exits at once if that takes longer than PARENT_GONE_GRACE;
- pipeline: `prepare` (decode, preprocess) runs ahead in a thread pool, `finish` (postprocess)
  runs behind in another, while `infer` runs on the main thread.

Python 3.8 syntax; numpy and the standard library at import (pycocotools only when
`encode_binary_masks` is called).
"""

import argparse
import base64
import collections
import concurrent.futures
import contextlib
import datetime
import json
import os
import platform
import signal
import sys
import threading
import time

import numpy as np

import protocol
from run_files import IMAGE_SUFFIXES, image_set, select_images, shard_of, write_npz_atomically

JOURNAL_VERSION = 1
EXIT_CANCELLED = protocol.EXIT_CANCELLED
EXIT_INPUT = protocol.EXIT_INPUT
PREFETCH = 2
"""Images prepared ahead of the one being inferred, when the pipeline overlaps."""
PARENT_POLL = 0.5
"""Seconds between checks that the process that started the runner is still alive."""
PARENT_GONE_GRACE = 30.0
"""Seconds a runner whose parent died gets to finish its image in flight before it exits."""


class UnreadableImage(Exception):
    """Raised by `Predictor.prepare` for an image that cannot be decoded, or by `Predictor.infer`
    for one the model cannot take: the image is skipped with a warning and the run goes on."""


class Predictor(object):
    """The model-specific part of a runner. Subclasses set `providers` and `path` and override
    `infer`; `prepare` and `finish` default to passing values through.

    `prepare` and `finish` run in worker threads and may record sub-step times with
    `timed(timings, "name")`; `infer` runs on the main thread, one image at a time.
    """

    providers = ()
    """Execution providers or devices in use, for the `start` event and `meta`."""
    path = "default"
    """Which inference path runs, recorded in `meta` (a runner may offer several)."""
    notes = ()
    """Lines logged right after the `start` event, e.g. why this path runs."""
    overlap = False
    """Whether `prepare` and `finish` run in threads beside `infer` under `--overlap auto`. That
    pays when inference leaves CPU cores idle, between or inside its runs (a GPU, or an ONNX
    Runtime session that does not busy-wait); it hurts beside a session that spins on every core."""

    def versions(self):
        """Package versions worth recording in `meta`."""
        return {}

    def prepare(self, image_path, timings):
        return image_path

    def infer(self, prepared):
        raise NotImplementedError

    def finish(self, image_file, prepared, outputs, timings):
        """Return the per-image dict as the original script wrote it (`image_file` included)."""
        raise NotImplementedError


@contextlib.contextmanager
def timed(timings, name):
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started


def argument_parser(description):
    """The arguments every runner takes; a runner adds its own before parsing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True, help="catalog name, recorded in meta")
    parser.add_argument("--family", required=True)
    parser.add_argument("--box-format", required=True, choices=("xyxy", "yxyx"))
    parser.add_argument("--class-ids", required=True, help="class-id convention, recorded in meta")
    parser.add_argument("--model-file", required=True, type=absolute_path, help="weights the runner loads")
    parser.add_argument("--images", required=True, type=absolute_path, help="folder of images")
    parser.add_argument("--output", required=True, type=absolute_path, help="the .npz file to write")
    parser.add_argument("--score-threshold", type=float, default=0.0,
                        help="drop detections scoring below this")
    parser.add_argument("--overlap", choices=("auto", "on", "off"), default="auto",
                        help="decode and postprocess in threads beside inference (auto: the runner decides)")
    parser.add_argument("--shard", type=parse_shard, metavar="I/N",
                        help="run only the I-th (0-based) of N contiguous parts of the sorted image list")
    parser.add_argument("--environment-note", default="",
                        help="how the environment departs from the paper's (e.g. another TensorFlow), recorded in meta")
    return parser


def absolute_path(text):
    """A path argument made absolute against the folder the runner started in, for argparse: a
    runner may change into its model's source tree before it touches the path."""
    return os.path.join(os.getcwd(), text)


def parse_shard(text):
    """'3/16' -> (3, 16), for argparse."""
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError("want I/N, e.g. 0/4, not {!r}".format(text))
    index, count = int(parts[0]), int(parts[1])
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError("shard {} does not exist: shards are numbered 0..N-1".format(text))
    return index, count


def image_name(path):
    """The name an image goes by in events, the journal and the output: its file name, or for a
    name that is not valid UTF-8 (which Python reads with surrogate escapes) the name with each
    bad byte written as \\xNN, since the original cannot be stored as text."""
    name = os.path.basename(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def file_identity(path):
    """Size and mtime of an image file, recorded with its journal entry: a file replaced under the
    same name since then is done again. None when it cannot be read (then it is not compared)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _is_current(entry, path):
    """Whether a journal entry still describes the file (journals before identities: always)."""
    recorded = entry.get("file")
    return recorded is None or recorded == file_identity(path)


# ---- journal -------------------------------------------------------------------------------

def encode_value(value):
    """JSON-safe form of a per-image record: arrays keep dtype, shape and exact bytes."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.dtype.str, "shape": list(value.shape),
                "b64": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")}
    if isinstance(value, bytes):
        return {"__bytes__": value.decode("latin-1")}
    if isinstance(value, dict):
        return {key: encode_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_value(value):
    if isinstance(value, dict):
        if "__ndarray__" in value:
            dtype = np.dtype(value["__ndarray__"])
            if dtype.hasobject:
                raise ValueError("object arrays are not allowed in a journal")
            raw = base64.b64decode(value["b64"])
            return np.frombuffer(raw, dtype=dtype).reshape(value["shape"]).copy()
        if "__bytes__" in value:
            return value["__bytes__"].encode("latin-1")
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


class Journal(object):
    """Finished images of one run, one JSON line each, behind a header line naming the settings.

    A journal made with other settings (model file, images, threshold, path) is discarded; a torn
    last line (the process was killed while writing it) is dropped.
    """

    def __init__(self, output, header):
        self.path = output + ".journal"
        self.header = header
        self.entries = collections.OrderedDict()
        self._file = None

    def resume(self):
        """Load what an earlier run of the same settings finished; returns the number of entries."""
        if not os.path.exists(self.path):
            return 0
        good_bytes = 0
        with open(self.path, "rb") as handle:
            lines = handle.read().split(b"\n")
        try:
            header = json.loads(lines[0].decode("utf-8"))
        except (ValueError, RecursionError):  # a damaged or hostile journal: start over
            header = None
        if not isinstance(header, dict) or header.get("settings") != self.header["settings"]:
            protocol.log("starting over: {} was made with other settings".format(os.path.basename(self.path)))
            os.remove(self.path)
            return 0
        self.header = header
        good_bytes = len(lines[0]) + 1
        for line in lines[1:]:
            try:
                entry = json.loads(line.decode("utf-8"))
                self.entries[entry["image_file"]] = entry
            except (ValueError, KeyError, TypeError, RecursionError):
                break
            good_bytes += len(line) + 1
        with open(self.path, "r+b") as handle:
            handle.truncate(min(good_bytes, os.path.getsize(self.path)))
        return len(self.entries)

    def open(self):
        fresh = not os.path.exists(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        if fresh:
            self._write(self.header)

    def add(self, entry):
        self.entries[entry["image_file"]] = entry
        self._write(entry)

    def _write(self, value):
        self._file.write(json.dumps(value, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def remove(self):
        self.close()
        if os.path.exists(self.path):
            os.remove(self.path)


class ProgressFile(object):
    """`<output>.progress.json`: done, total, when this attempt started and last wrote, rewritten
    atomically at most every `interval` seconds (and on the last image)."""

    def __init__(self, output, total, resumed_from, interval=1.0):
        self.path = output + ".progress.json"
        self.total = total
        self.resumed_from = resumed_from
        self.started_at = time.time()
        self.interval = interval
        self._written_at = 0.0

    def update(self, done):
        now = time.time()
        if now - self._written_at < self.interval and done < self.total:
            return
        self._written_at = now
        record = {"done": done, "total": self.total, "resumed_from": self.resumed_from,
                  "started_at": self.started_at, "updated_at": now}
        partial = self.path + ".partial"
        try:
            with open(partial, "w") as handle:
                json.dump(record, handle)
            os.replace(partial, self.path)
        except OSError as exc:  # progress is for watchers; a full disk here must not stop the run
            protocol.say("cannot write {}: {}".format(self.path, exc))

    def remove(self):
        if os.path.exists(self.path):
            os.remove(self.path)


# ---- signals -------------------------------------------------------------------------------

class StopFlag(object):
    """Set by the first SIGINT/SIGTERM; the second one gets the default action (die now).
    The pipeline checks it between images."""

    def __init__(self):
        self.signal_name = None

    def __bool__(self):
        return self.signal_name is not None

    def request(self, reason):
        """Stop as after the first signal, for another `reason` (from any thread)."""
        self.signal_name = reason

    def install(self):
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._handle)

    def _handle(self, number, frame):
        self.signal_name = signal.Signals(number).name
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # nothing printed here: the main thread may hold protocol's lock, mid-line


def watch_parent(stop, poll=PARENT_POLL, grace=PARENT_GONE_GRACE):
    """Stop the run when the process that started it dies, even by SIGKILL (the runner is in a
    session of its own, so no signal reaches it then): its stdout and stderr now lead nowhere, so
    they go to /dev/null; the pipeline stops after the image in flight; after `grace` seconds the
    process exits regardless (the journal is flushed line by line, so nothing done is lost)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(poll)
        quiet = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(quiet, stream.fileno())
        stop.request("its parent process exited")
        time.sleep(grace)
        os._exit(EXIT_CANCELLED)

    watcher = threading.Thread(target=watch, name="parent-watch")
    watcher.daemon = True
    watcher.start()


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# ---- the run -------------------------------------------------------------------------------

def _check_folders(args):
    if not os.path.isdir(args.images):
        protocol.fail("image folder {} does not exist".format(args.images), code=EXIT_INPUT)
    images = select_images(args.images)
    if not images:
        protocol.fail("no images ({}) in {}".format(", ".join(IMAGE_SUFFIXES), args.images), code=EXIT_INPUT)
    if args.shard and len(images) < args.shard[1]:
        protocol.fail("{} images cannot make {} shards: use at most {}".format(len(images), args.shard[1], len(images)),
                      code=EXIT_INPUT)
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
        protocol.fail("cannot write to output folder {}".format(out_dir), code=EXIT_INPUT)
    return images


def _settings(args, predictor):
    model_file = os.path.abspath(args.model_file)
    stat = os.stat(model_file)
    settings = {"model": args.model, "model_file": model_file, "model_size": stat.st_size,
                "model_mtime": int(stat.st_mtime), "images": os.path.abspath(args.images),
                "score_threshold": args.score_threshold, "path": predictor.path,
                "shard": list(args.shard) if args.shard else None}
    if args.environment_note:  # a journal from another environment is not resumed into this one
        settings["environment_note"] = args.environment_note
    return settings


def hold_output(output):
    """One run at a time per output file: a second one would redo the same images into the same
    journal. Returns the open lock file, held until the process ends; removed once the output is written."""
    import fcntl

    handle = open(output + ".lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        protocol.fail("another run is writing {} right now; wait for it to end or cancel it".format(output),
                      code=protocol.EXIT_BUSY)
    return handle


def run(args, load_predictor):
    """Run a whole job; never returns (exits with 0, 1 on an error, 2 on input the user can fix, 75 while
    another run writes the output, 130 when cancelled)."""
    started = time.monotonic()
    stop = StopFlag()
    stop.install()
    watch_parent(stop)
    all_images = _check_folders(args)
    images = shard_of(all_images, args.shard)
    lock = hold_output(args.output)
    try:
        predictor = load_predictor()
    except Exception as exc:  # the model could not be loaded: one clear line, no traceback
        protocol.fail("cannot load {}: {}".format(args.model_file, _one_line(exc)))
    journal = Journal(args.output, {"journal": JOURNAL_VERSION, "started": _now(),
                                    "settings": _settings(args, predictor)})
    journal.resume()
    names = [image_name(path) for path in images]
    replaced = [path for path, name in zip(images, names)
                if name in journal.entries and not _is_current(journal.entries[name], path)]
    todo = [path for path, name in zip(images, names) if name not in journal.entries or path in replaced]
    resumed = len(images) - len(todo)  # images the journal has but the folder lost do not count
    protocol.emit("start", model=args.model, total=len(images), providers=list(predictor.providers),
                  resumed=resumed, path=predictor.path)
    for note in predictor.notes:
        protocol.log(note)
    if resumed:
        protocol.log("resuming: {} of {} images already done".format(resumed, len(images)))
    if replaced:
        protocol.log("{} image{} changed since the interrupted run, done again: {}".format(
            len(replaced), "" if len(replaced) == 1 else "s", ", ".join(image_name(path) for path in replaced[:5])))
    progress = ProgressFile(args.output, len(images), resumed)
    progress.update(resumed)
    journal.open()
    try:
        _pipeline(predictor, todo, journal, resumed, len(images), stop, _overlaps(args, predictor), progress)
    except Exception as exc:
        journal.close()
        protocol.fail("{} failed: {}".format(args.model, _one_line(exc)))
    journal.close()
    if stop:
        protocol.fail("cancelled ({}) after {} of {} images; rerun the same command to resume".format(
            stop.signal_name, sum(name in journal.entries for name in names), len(images)), code=EXIT_CANCELLED)
    _fail_unless_any_read(journal, names)
    _write_output(args, predictor, journal, names, time.monotonic() - started, all_images, progress, lock)


def _fail_unless_any_read(journal, names, shown=5):
    """A run that read none of its images did nothing: it ends in an error naming them (the input is
    the user's to fix), and writes no output that would pass for a result."""
    entries = [journal.entries[name] for name in names if name in journal.entries]
    if not names or any("record" in entry for entry in entries):
        return
    skipped = ["{} ({})".format(entry["image_file"], entry["skipped"]) for entry in entries if "skipped" in entry]
    more = " and {} more".format(len(skipped) - shown) if len(skipped) > shown else ""
    protocol.fail("no image could be read: {}{}; replace or remove {} and rerun".format(
        "; ".join(skipped[:shown]), more, "it" if len(skipped) == 1 else "them"), code=EXIT_INPUT)


def _overlaps(args, predictor):
    return predictor.overlap if args.overlap == "auto" else args.overlap == "on"


class InlineExecutor(object):
    """Runs each task at once in the caller's thread: the pipeline without overlap."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def submit(self, function, *args):
        future = concurrent.futures.Future()
        try:
            future.set_result(function(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _pipeline(predictor, todo, journal, resumed, total, stop, overlap, progress):
    """prepare ahead, infer here, finish behind (in threads when `overlap`); journal in image order."""
    if overlap:
        preparers = concurrent.futures.ThreadPoolExecutor(PREFETCH, thread_name_prefix="prepare")
        finisher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="finish")
    else:
        preparers = finisher = InlineExecutor()
    lookahead = PREFETCH + 1 if overlap else 1
    done = [resumed]

    def record(entry, identity):
        entry["file"] = identity
        journal.add(entry)
        done[0] += 1
        protocol.emit("progress", done=done[0], total=total, image=entry["image_file"],
                      detections=entry.get("detections", 0), seconds=round(sum(entry["timings"].values()), 4))
        progress.update(done[0])

    with preparers, finisher:
        ahead = collections.deque()
        behind = collections.deque()
        upcoming = iter(todo)

        def fill():
            while len(ahead) < lookahead:
                path = next(upcoming, None)
                if path is None:
                    return
                timings = {}
                identity = file_identity(path)  # before the file is read: a later change is seen
                ahead.append((path, timings, identity, preparers.submit(_prepare, predictor, path, timings)))

        def drain(wait_all):
            while behind and (wait_all or behind[0][0].done() or len(behind) > 1):
                finished, identity = behind.popleft()
                record(finished.result(), identity)

        fill()
        while ahead and not stop:
            path, timings, identity, prepared_future = ahead.popleft()
            fill()
            name = image_name(path)
            try:
                prepared = prepared_future.result()
                with timed(timings, "infer"):
                    outputs = predictor.infer(prepared)
            except UnreadableImage as exc:
                drain(wait_all=True)  # keep events and the journal in image order
                protocol.warning("skipped {}: {}".format(name, exc), image=name)
                record({"image_file": name, "skipped": str(exc), "timings": timings}, identity)
                continue
            behind.append((finisher.submit(_finish, predictor, name, prepared, outputs, timings), identity))
            del prepared, outputs
            drain(wait_all=False)
        for _, _, _, future in ahead:
            future.cancel()
        drain(wait_all=True)


def _prepare(predictor, path, timings):
    if image_name(path) != os.path.basename(path):
        raise UnreadableImage("its file name is not valid UTF-8; rename the file to include it")
    return predictor.prepare(path, timings)


def _finish(predictor, name, prepared, outputs, timings):
    result = predictor.finish(name, prepared, outputs, timings)
    with timed(timings, "encode"):
        encoded = encode_value(result)
    return {"image_file": name, "record": encoded, "detections": len(result.get("scores", ())),
            "timings": timings}


def _write_output(args, predictor, journal, names, seconds, all_images, progress, lock):
    entries = [journal.entries[name] for name in names if name in journal.entries]
    records = [decode_value(entry["record"]) for entry in entries if "record" in entry]
    skipped = {entry["image_file"]: entry["skipped"] for entry in entries if "skipped" in entry}
    settings = journal.header["settings"]
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    versions.update(predictor.versions())
    detections = sum(entry.get("detections", 0) for entry in entries)
    meta = {
        "model": args.model, "family": args.family, "box_format": args.box_format,
        "class_ids": args.class_ids, "image_dir": settings["images"], "model_file": settings["model_file"],
        "score_threshold": args.score_threshold, "providers": list(predictor.providers),
        "path": predictor.path, "overlap": _overlaps(args, predictor), "versions": versions,
        "interpreter": sys.executable, "started": journal.header["started"],
        "finished": _now(), "images": len(records), "detections": detections, "skipped": skipped,
        "timings": {entry["image_file"]: {k: round(v, 5) for k, v in entry["timings"].items()}
                    for entry in entries},
        "image_set": image_set(all_images), "host": platform.node(),
    }
    if args.shard:
        meta["shard"] = {"index": args.shard[0], "count": args.shard[1]}
    if args.environment_note:
        meta["environment_note"] = args.environment_note
    try:
        write_npz_atomically(args.output, records, meta)
    except OSError as exc:
        protocol.fail("cannot write {}: {}".format(args.output, exc))
    journal.remove()
    progress.remove()
    os.remove(lock.name)
    lock.close()
    protocol.emit("done", output=os.path.abspath(args.output), images=len(records), detections=detections,
                  skipped=len(skipped), seconds=round(seconds, 3))
    protocol.say("wrote {} ({} images, {} detections)".format(args.output, len(records), detections))
    sys.exit(0)


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return "{}: {}".format(type(exc).__name__, text[0] if text else "").rstrip(": ")


def encode_binary_masks(masks):
    """pycocotools RLE of each binary mask of [N, H, W] (bool or uint8), as the original scripts wrote them."""
    from pycocotools import mask as mask_api

    return [mask_api.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8))) for mask in masks]
