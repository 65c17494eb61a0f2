"""The docs cannot drift: every console example in README.md and docs/*.md runs here.

A fenced ```console block is a shell session: `$ ` lines are commands (a line ending in `\\`
continues on the next), the lines below one are what it prints. The line above every such block
is one of two markers (HTML comments: invisible on GitHub, plain in the source):

    <!-- doctest: SETUP -->           run it, after the setup named SETUP (see SETUPS below)
    <!-- doctest: SETUP columns=N --> the same in a terminal N columns wide (default 100)
    <!-- not run: REASON -->          shown only; the reason says why (a GPU, SLURM, network, minutes)

A run block's commands run one after another in bash, in the home folder of a throwaway user
(`~`: the cache, config and data folders sit where they do by default, `~/.cache/fashionfail` and
so on), with `fashionfail-tui` being this checkout's `python -m tui` and `python` this interpreter.
Each command's stdout and stderr, together, must match what the block shows after three changes:
the throwaway home reads `~`, trailing spaces go, and `...` in the block stands for anything: a
line of just `...` for any number of lines, `...` inside a line for any text on that line (the
spaces around it included, so `path ... │` matches however wide a table's column is).

```python blocks carry the same markers and must run without error; ```toml blocks must load as
the app's config file. `$ ` lines anywhere but in a console block are refused, so no command
can hide from this test.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tests.helpers.images import write_corrupt_image, write_image
from tests.helpers.onnx_models import build_maskrcnn_like
from tui import config, paths

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BASH = shutil.which("bash")
README_MAX_LINES = 300
DEFAULT_COLUMNS = 100
MARKER = re.compile(r"^<!-- (?:doctest: (?P<setup>[\w-]+)(?: columns=(?P<columns>\d+))?|not run: (?P<reason>.+?)) -->$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a markdown file and the marker line above it."""

    path: Path
    line: int
    """1-based line number of the opening fence."""
    language: str
    body: str
    marker: re.Match | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


FENCE = re.compile(r"^(?P<ticks>`{3,})(?P<language>[^`\s]*)[^`]*$")
"""An opening fence, as CommonMark has it: three or more backticks, and no backtick in the info string."""


def fences(lines: list[str]) -> Iterator[tuple[int, int, str]]:
    """(opening line, closing line, language) of each fenced block, 0-based."""
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence:
            closing = re.compile(rf"^{fence['ticks']}`*\s*$")
            end = next((i for i in range(index + 1, len(lines)) if closing.match(lines[i])), len(lines))
            yield index, end, fence["language"]
            index = end
        index += 1


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for start, end, language in fences(lines):
        above = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        blocks.append(Block(path, start + 1, language, "\n".join(lines[start + 1:end]), MARKER.match(above.strip())))
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in fenced_blocks(path)]


def marked(language: str, run: bool) -> list:
    chosen = [b for b in ALL_BLOCKS if b.language == language and b.marker and (b.marker["setup"] is not None) == run]
    return [pytest.param(b, id=b.name) for b in chosen]


# ---- a session: commands and what they print -------------------------------------------------

def session(body: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a console block."""
    steps: list[tuple[str, list[str]]] = []
    lines = iter(body.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command += "\n" + next(lines)  # bash joins the lines itself
            steps.append((command, []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise AssertionError(f"output before the first command: {line!r}")
    return [(command, "\n".join(output)) for command, output in steps]


def matches(expected: str, actual: str) -> bool:
    """`actual` is `expected` with each `...` standing for anything (see the module docstring)."""
    pattern = []
    for line in expected.splitlines():
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            parts = line.rstrip().split("...")
            parts = [part if i == 0 else part.lstrip(" ") for i, part in enumerate(parts)]
            parts = [part if i == len(parts) - 1 else part.rstrip(" ") for i, part in enumerate(parts)]
            pattern.append("[^\n]*?".join(re.escape(part) for part in parts) + "\n")
    return re.fullmatch("".join(pattern), actual) is not None


def normalized(output: str, home: Path) -> str:
    lines = [line.rstrip() for line in output.replace(str(home), "~").splitlines()]
    return "".join(line + "\n" for line in lines)


def shell_prelude() -> str:
    python = shlex.quote(sys.executable)
    return f'fashionfail-tui() {{ {python} -m tui "$@"; }}\npython() {{ {python} "$@"; }}\n'


# ---- setups: what a block's commands need in the home folder ----------------------------------

SETUPS: dict[str, Callable] = {}


def setup(function):
    """Register a context manager (given the home folder, yielding extra environment variables)."""
    SETUPS[function.__name__.replace("_", "-")] = contextlib.contextmanager(function)
    return function


@setup
def plain(home: Path) -> Iterator[dict]:
    """Nothing: a new user's empty cache and no config file."""
    yield {}


@setup
def photos(home: Path) -> Iterator[dict]:
    """~/photos: nine small photos and a broken one; ~/facere-test.onnx: a Facere-shaped model
    (5 detections an image, built with the `onnx` package in tests/helpers/onnx_models.py)."""
    for index in range(9):
        write_image(home / "photos" / f"{index:03d}.jpg", size=(64, 48), seed=index)
    write_corrupt_image(home / "photos" / "broken.jpg")
    build_maskrcnn_like(home / "facere-test.onnx", detections=5)
    yield {}


@setup
def tour(home: Path) -> Iterator[dict]:
    """What the README's tour starts from: ~/photos as in `photos`, the Facere-shaped test model
    where `fetch facere` puts Facere's checkpoint, and FashionFail's ff_test.json (annotations of
    the photos, tests/evaluation_data.py) where the dataset goes in the cache."""
    from evaluation_data import write_annotations

    with SETUPS["photos"](home):
        checkpoints = home / ".cache" / "fashionfail" / "checkpoints"
        checkpoints.mkdir(parents=True)
        (home / "facere-test.onnx").rename(checkpoints / "facere_base.onnx")
        write_annotations(home / ".cache" / "fashionfail" / "ff_test.json",
                          {f"{i:03d}.jpg": [(i % 3, (8, 6, 40, 30))] for i in range(9)}, size=(48, 64))
        yield {}


@setup
def maskrcnn(home: Path) -> Iterator[dict]:
    """~/photos: two photos; ~/tiny_maskrcnn.onnx: tests/fixtures' real torchvision Mask R-CNN export
    (its graph pastes the masks in a Loop, as Facere's does)."""
    for index in range(2):
        write_image(home / "photos" / f"{index:03d}.jpg", size=(320, 240), seed=index)
    (home / "tiny_maskrcnn.onnx").write_bytes((TESTS / "fixtures" / "tiny_maskrcnn.onnx").read_bytes())
    yield {}


@setup
def mirrors(home: Path) -> Iterator[dict]:
    """A local HTTP server (tests/fileserver.py) with Facere's and Facere+'s files and the amrcnn-r50-fpn
    tarball, local git mirrors of tpu and FashionFormer, ~/.config/fashionfail/config.toml pointing at
    them, and in ~/Downloads a FashionFormer checkpoint and a OneDrive web page saved under a checkpoint's name."""
    from artifacts import checkpoint_members, make_tar, torch_zip
    from fileserver import FileServer
    from gitrepos import commit

    tpu = commit(home / "mirrors" / "tpu", {"models/official/detection/main.py": "print('tpu')\n"})
    fashionformer = commit(home / "mirrors" / "FashionFormer", {"configs/README.md": "FashionFormer\n"})
    (home / "Downloads").mkdir()
    torch_zip(home / "Downloads" / "fashionformer_swin_b_3x.pth")
    (home / "Downloads" / "fashionformer_r50_3x.pth").write_text("<!DOCTYPE html><html><head><title>OneDrive</title>")
    tarball = make_tar(home / "fashionpedia-r50-fpn.tar.gz", checkpoint_members())
    with FileServer() as server:
        server.serve("/facere_base.onnx", np.random.default_rng(0).bytes(3_000_000))
        server.serve("/facere_plus.onnx", np.random.default_rng(1).bytes(1_000_000))
        server.serve("/fashionpedia-r50-fpn.tar.gz", tarball.read_bytes())
        paths.config_file().parent.mkdir(parents=True, exist_ok=True)
        paths.config_file().write_text(textwrap.dedent(f"""\
            [models.facere]
            url = "{server.url('/facere_base.onnx')}"

            [models.facere_plus]
            url = "{server.url('/facere_plus.onnx')}"

            [models.amrcnn-r50-fpn]
            url = "{server.url('/fashionpedia-r50-fpn.tar.gz')}"

            [sources.tpu]
            url = "{(home / 'mirrors' / 'tpu').as_uri()}"
            commit = "{tpu}"

            [sources.FashionFormer]
            url = "{(home / 'mirrors' / 'FashionFormer').as_uri()}"
            commit = "{fashionformer}"
            """))
        yield {}


@setup
def dataset(home: Path) -> Iterator[dict]:
    """A mini FashionFail on a local HTTP server (tests/helpers/mini_dataset.py), named by the
    config's [dataset] annotations_url: ff_test.json lists five images, of which a.jpg, b.jpg and
    c.jpg are served, broken.jpg is not (404) and wrong.jpg is served at another size."""
    from fileserver import FileServer

    from tests.helpers.mini_dataset import serve_mini_dataset

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    with FileServer() as server:
        serve_mini_dataset(server)
        yield {}


@setup
def paper(home: Path) -> Iterator[dict]:
    """Where "from nothing to the paper's table" starts (tests/helpers/paper_demo.py): Facere and
    Facere+ stand-ins where `fetch` puts their checkpoints, and a FashionFail test split of six photos
    on a local HTTP server named by the config's [dataset] annotations_url, its objects what one
    model or the other really finds, and one neither finds."""
    from fileserver import FileServer

    from tests.helpers.paper_demo import serve_paper_demo

    with FileServer() as server:
        serve_paper_demo(server, home / "demo")
        yield {}


@setup
def compared(home: Path) -> Iterator[dict]:
    """`paper`, after `dataset fetch` and `compare --images ~/.cache/fashionfail/images/test --out runs/ff_test`:
    ~/runs/ff_test holds facere.npz, facere+.npz, comparison.json and report.html."""
    from tests.helpers.paper_demo import fetch_and_compare

    with SETUPS["paper"](home):
        fetch_and_compare(home)
        yield {}


@setup
def tiny_environment(home: Path) -> Iterator[dict]:
    """A local conda channel (tests/conda_channel.py) and a `tiny` environment spec installing from it,
    named by the config's [environments] specs."""
    from conda_channel import build_channel, write_spec

    channel = build_channel(home / "demo")
    write_spec(home / "demo" / "specs", "tiny", channel)
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(f'[environments]\nbackend = "embedded"\nspecs = "{home / "demo" / "specs"}"\n')
    yield {}


class _RunsCode:
    """Pickles as a call to os.system: what a hostile prediction file would carry."""

    def __reduce__(self):
        return os.system, ("touch pwned",)


@setup
def prediction_files(home: Path) -> Iterator[dict]:
    """~/amrcnn-spine.npy as Attribute Mask R-CNN's script writes it (two images, one without
    detections) and ~/hostile.npy, a prediction file whose pickle would run a shell command."""
    import prediction_files as pf

    pf.write_amrcnn(home / "amrcnn-spine.npy", pf.amrcnn_records())
    (home / "hostile.npy").write_bytes(pf.npy_bytes_with_pickle(pickle.dumps(pf.object_array([_RunsCode()]), protocol=3)))
    yield {}


@setup
def hostile_files(home: Path) -> Iterator[dict]:
    """The hostile prediction files of tests/hostile_predictions.py, in ~: a pickle that would build an
    array over raw bytes, a mask whose counts end inside a number, a memo bomb, a .npy announcing
    100 GiB, and a record whose dict key nests tuples 200,000 deep."""
    import hostile_predictions as hp
    import prediction_files as pf

    pf.write_zip(home / "over-bytes.npz", {"data.npy": hp.object_npy(
        pf.object_array(hp.memory_pickle_record("ndarray-over-bytes")), (2,))})
    pf.write_npz(home / "bad-mask.npz", hp.with_mask(pf.facere_records(), 0, hp.hostile_masks()["ends-inside-a-number"]))
    hp.memo_bomb(home / "memo-bomb.npz")
    hp.huge_npy_header(home / "huge.npy")
    hp.deep_tuple_key(home / "deep-key.npz")
    yield {}


@setup
def evaluation(home: Path) -> Iterator[dict]:
    """~/ff_test.json: 12 annotated 100x100 images with one or two rectangles each, in FashionFail's
    layout (tests/evaluation_data.py), and three prediction files of them in the original scripts'
    formats: Facere finds every object 4 pixels off, with masks a little inside its boxes, and three
    false alarms; FashionFormer finds them 1 pixel off (9 for every fourth image); Attribute Mask R-CNN
    finds half of them and raises a false alarm on every image."""
    from evaluation_data import rectangle_rle, write_annotations, write_facere_file
    from tui.predictions import ImagePredictions

    categories = (1, 6, 10, 23, 24)  # top, pants, dress, shoe, bag: weighted categories
    objects = {f"{index:03d}.jpg": [(categories[index % 5], (10, 10, 60, 70))]
               + ([(categories[(index + 2) % 5], (55, 50, 95, 95))] if index % 3 == 0 else [])
               for index in range(12)}
    write_annotations(home / "ff_test.json", objects)

    def found(name, detections):
        """detections: (category, box, score, how many pixels the mask lies inside the box)."""
        return ImagePredictions(
            image_file=name, boxes=np.array([d[1] for d in detections], dtype=np.float32).reshape(-1, 4),
            category_ids=np.array([d[0] for d in detections], dtype=np.int64),
            scores=np.array([d[2] for d in detections], dtype=np.float32),
            masks=[rectangle_rle((x1 + d[3], y1 + d[3], x2 - d[3], y2 - d[3])) for d in detections
                   for x1, y1, x2, y2 in [d[1]]])

    def moved(box, by):
        return tuple(value + by for value in box)

    alarm = (6, (0, 75, 20, 95), 0.6, 0)
    facere = [found(name, [(c, moved(box, 4), 0.8, 3) for c, box in objects[name]] + ([alarm] if i < 3 else []))
              for i, name in enumerate(objects)]
    fformer = [found(name, [(c, moved(box, 9 if i % 4 == 0 else 1), 0.9, 0) for c, box in objects[name]])
               for i, name in enumerate(objects)]
    amrcnn = [found(name, [(c, box, 0.7, 0) for c, box in objects[name][: i % 2]] + [alarm])
              for i, name in enumerate(objects)]
    write_facere_file(home / "facere-ff_test.npz", facere)
    _write_fformer(home / "fashionformer_swin_b_3x-ff-test.npz", fformer)
    _write_amrcnn(home / "spinenet143-ff_test.npy", amrcnn)
    yield {}


@setup
def paper_edges(home: Path) -> Iterator[dict]:
    """The four minimal cases of tests/paper_cases.py, each in its own folder: anns.json and one
    prediction file per upstream format (amrcnn.npy, facere.npz, facere_plus.npz, fformer.npz)."""
    from paper_cases import MINIMAL, minimal_case

    for name in MINIMAL:
        minimal_case(name).write(home / name)
    yield {}


def _object_array(records: list[dict]) -> np.ndarray:
    array = np.empty(len(records), dtype=object)
    array[:] = records
    return array


def _write_fformer(path: Path, images) -> None:
    """FashionFormer's predict_fformer.py layout: xyxy boxes, classes 0..45 (int32)."""
    np.savez_compressed(path, data=_object_array([
        {"image_file": i.image_file, "boxes": i.boxes.astype(np.float32), "classes": i.category_ids.astype(np.int32),
         "scores": i.scores, "masks": list(i.masks)} for i in images]))


def _write_amrcnn(path: Path, images) -> None:
    """Attribute Mask R-CNN's inference.py layout: yxyx boxes, classes 1..46, 294 attribute scores."""
    np.save(path, _object_array([
        {"image_file": f"images/test/{i.image_file}", "boxes": i.boxes[:, [1, 0, 3, 2]].astype(np.float32),
         "classes": (i.category_ids + 1).astype(np.int32), "scores": i.scores, "masks": list(i.masks),
         "attributes": np.zeros((len(i.scores), 294), dtype=np.float32)} for i in images]))


def _gpu_standin(home: Path, nvml: str, nvidia_smi: str | None) -> dict:
    """The tests' stand-ins for a GPU (tests/gpu_standins.py), through a sitecustomize module:
    pynvml replays a recorded H200 (`nvml`: a `replay_pynvml` call's arguments), and PATH holds
    only ~/bin, with an nvidia-smi printing a recorded H200 (`nvidia_smi`: idle or load) or nothing."""
    from gpu_standins import install_nvidia_smi

    site = home / "standin-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import sys\nimport pynvml\nfrom gpu_standins import replay_pynvml\nsys.modules['pynvml'] = replay_pynvml({nvml})\n")
    (home / "bin").mkdir()
    if nvidia_smi:
        install_nvidia_smi(home / "bin", nvidia_smi)
    return {"PATH": f"{home / 'bin'}", "PYTHONPATH": os.pathsep.join([str(site), str(TESTS), str(ROOT)])}


NO_NVML = "init_error=pynvml.NVMLError_LibraryNotFound"


@setup
def no_gpu(home: Path) -> Iterator[dict]:
    """No GPU: NVML's library is not found (as on a machine without the driver), no nvidia-smi."""
    yield _gpu_standin(home, NO_NVML, None)


@setup
def nvidia_smi(home: Path) -> Iterator[dict]:
    """No NVML library, and an nvidia-smi printing what it printed on an H200 under load."""
    yield _gpu_standin(home, NO_NVML, "load")


@setup
def nvml(home: Path) -> Iterator[dict]:
    """NVML answering what it answered on an H200 under load (pid 452 is python3), and that nvidia-smi."""
    yield _gpu_standin(home, "'load', process_names={452: 'python3'}", "load")


# ---- the tests --------------------------------------------------------------------------------

@pytest.fixture
def home(isolated_dirs, monkeypatch) -> Path:
    """The conftest's isolated folder as a user's home, with the cache, config and data where they go by default."""
    monkeypatch.setenv(paths.CACHE_ENV, str(isolated_dirs / ".cache" / "fashionfail"))
    monkeypatch.setenv(paths.DATA_ENV, str(isolated_dirs / ".local" / "share" / "fashionfail"))
    monkeypatch.setenv(paths.CONFIG_ENV, str(isolated_dirs / ".config" / "fashionfail" / "config.toml"))
    return isolated_dirs


def environment(home: Path, columns: int, extra: dict) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", COLUMNS=str(columns), LINES="50",
               TERM="dumb", TZ="UTC")
    env.update(extra)
    return env


@pytest.mark.parametrize("block", marked("console", run=True))
def test_console_example(block, home):
    with SETUPS[block.marker["setup"]](home) as extra:
        env = environment(home, int(block.marker["columns"] or DEFAULT_COLUMNS), extra)
        for command, expected in session(block.body):
            result = subprocess.run([BASH, "-c", shell_prelude() + command], cwd=home, env=env, timeout=300,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            actual = normalized(result.stdout, home)
            assert matches(expected, actual), (
                f"{block.name}: `{command}` printed (exit {result.returncode}):\n{actual}\nthe docs show:\n{expected}")


@pytest.mark.parametrize("block", marked("python", run=True))
def test_python_example(block, home):
    with SETUPS[block.marker["setup"]](home) as extra:
        result = subprocess.run([sys.executable, "-c", block.body], cwd=home, env=environment(home, 100, extra),
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{block.name}:\n{result.stderr}"


@pytest.mark.parametrize("block", [pytest.param(b, id=b.name) for b in ALL_BLOCKS if b.language == "toml"])
def test_toml_example_is_a_config_file_the_app_loads(block, home):
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text(block.body)
    assert config.load().source == paths.config_file()


def test_every_command_in_the_docs_is_in_a_marked_console_block():
    for block in ALL_BLOCKS:
        if block.language in ("console", "python"):
            assert block.marker, f"{block.name}: a {block.language} block needs a doctest or not-run marker above it"
            if block.marker["setup"]:
                assert block.marker["setup"] in SETUPS, f"{block.name}: no setup named {block.marker['setup']}"
        else:
            assert not re.search(r"^\$ ", block.body, re.M), f"{block.name}: a `$ ` command outside a console block"


def test_most_console_examples_run():
    run = len(marked("console", run=True))
    assert run >= 2 * len(marked("console", run=False)), "most examples should run; see the not-run reasons"


def test_the_ellipsis_stands_for_text_and_for_lines():
    assert matches("a ... b\n...\nend", "a 1.2 s b\nx\ny\nend\n")
    assert matches("...\nend", "end\n")
    assert not matches("a ... b", "a b c\n") and not matches("end", "end\nmore\n")


# ---- the README ---------------------------------------------------------------------------------

def test_readme_is_a_guide_of_at_most_300_lines():
    assert len(README.read_text().splitlines()) <= README_MAX_LINES


def test_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    shown = [b.body.strip() for b in fenced_blocks(README) if b.language == "sh"]
    assert ci in shown, f"README shows {shown}, .ci/run runs {ci}"


def test_readme_install_command_opens_the_app_the_package_installs():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [install, _] = [b.body.strip() for b in fenced_blocks(README) if b.language == "sh"]
    assert install.startswith("python3 -m venv .venv && .venv/bin/pip install . && ")
    assert install.endswith(" .venv/bin/fashionfail-tui") and scripts["fashionfail-tui"] == "tui.commands:main"


def prose(path: Path) -> str:
    """The file without its fenced blocks: where links and headings are."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for start, end, _ in reversed(list(fences(lines))):
        del lines[start:end + 1]
    return "\n".join(lines)


def _links(path: Path) -> list[str]:
    without_code = re.sub(r"(`+).*?\1", "", prose(path))
    return re.findall(r"\]\(([^)\s]+)\)", without_code)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", prose(path), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(path):
    for link in _links(path):
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        assert resolved.exists(), f"{path.name}: {link} does not exist"
        if anchor:
            assert anchor in _anchors(resolved), f"{path.name}: {link}: no heading makes #{anchor}"


def test_every_docs_page_is_linked_from_the_readme_or_the_docs_index():
    linked = {(p.parent / link.partition("#")[0]).resolve() for p in (README, ROOT / "docs" / "README.md")
              for link in _links(p)}
    assert {p.resolve() for p in DOCS[1:]} - {(ROOT / "docs" / "README.md").resolve()} <= linked
    assert (ROOT / "docs" / "README.md").resolve() in linked
