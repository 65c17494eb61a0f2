"""report.html and the paper's table as text, on the hand-made three-model case; the page checked in headless Chromium."""

import base64
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from PIL import Image

from failure_case import C1, MODELS, write_case
from tui.evaluation.failures import find_failures, load_models
from tui.evaluation.evaluator import Evaluator
from tui.evaluation.report import comparison, paper_table, paper_table_text, percent
from tui.evaluation.report_html import PANEL_PIXELS, write_report
from tui.evaluation.results import METRICS
from tui.predictions.render import BACKGROUND

IMAGE_COLOUR = (200, 200, 200)
CHROMIUM = shutil.which("chromium")


class Page(HTMLParser):
    """What a reader of the page sees: the table's rows (cells as text, best values apart) and the pictures."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self.best, self.tags = [], [], [], set()
        self._cell = self._in_best = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "span" and attrs.get("class") == "best":
            self._in_best = ""
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None
        elif tag == "span" and self._in_best is not None:
            self.best.append((self.rows[-1][0] if self.rows[-1] else "", len(self.rows[-1]), self._in_best))
            self._in_best = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_best is not None:
            self._in_best += data


@pytest.fixture
def report(tmp_path):
    anns, files = write_case(tmp_path)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):  # d.jpg is not there: drawn on grey
        Image.new("RGB", (100, 100), IMAGE_COLOUR).save(images / name, quality=95)
    evaluator = Evaluator(anns)
    compared = comparison(anns, [e for file in files for e in evaluator.evaluate(file)])
    cases = find_failures(load_models(files), evaluator.truth)
    path = write_report(tmp_path / "out" / "report.html", compared, cases, images=images)
    return path, compared, cases


def parsed(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def decoded(src: str) -> Image.Image:
    assert src.startswith("data:image/jpeg;base64,")
    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")


def test_the_table_has_evals_numbers_and_marks_each_columns_best(report):
    path, compared, _ = report
    page = parsed(path)
    table = page.rows[: 1 + len(MODELS)]
    assert table[0] == ["model", *(heading for _, heading in METRICS)]
    results = {entry["model"]: {r["iou_type"]: r for r in entry["results"]} for entry in compared["models"]}
    for row in table[1:]:
        model = row[0]
        assert row[1:] == [f"{percent(results[model]['bbox'][key])} | {percent(results[model]['segm'][key])}"
                           for key, _ in METRICS]
    expected_best = set()
    for column, (key, _) in enumerate(METRICS, start=1):
        for iou in ("bbox", "segm"):
            printed = {m: percent(results[m][iou][key]) for m in results}  # ties as printed, at one decimal
            best = percent(max(results[m][iou][key] for m in results))
            if len(set(printed.values())) > 1:  # a column of equal values has no best
                expected_best |= {(m, column, best) for m in results if printed[m] == best}
    assert set(page.best) == expected_best and len(page.best) >= 10


def test_the_pictures_are_embedded_and_drawn(report):
    path, _, cases = report
    page = parsed(path)
    assert "script" not in page.tags
    text = path.read_text()
    assert "http://" not in text and "https://" not in text
    # 1 missed by all + 4 disagreements, each the ground truth and 3 models; 2 models with false positives, likewise
    assert len(page.images) == (1 + 4 + 2) * (1 + len(MODELS))
    pictures = {img["alt"]: decoded(img["src"]) for img in page.images}
    assert all(max(p.size) <= PANEL_PIXELS for p in pictures.values())
    truth_c = pictures["c.jpg: ground truth"]
    centre = ((C1[0] + C1[2]) // 2, (C1[1] + C1[3]) // 2)
    assert sum(abs(a - b) for a, b in zip(truth_c.getpixel(centre), IMAGE_COLOUR)) > 60  # the mask is drawn
    assert sum(abs(a - b) for a, b in zip(truth_c.getpixel((5, 95)), IMAGE_COLOUR)) < 15  # outside it, the image
    missing = pictures["d.jpg: ground truth"]
    assert sum(abs(a - b) for a, b in zip(missing.getpixel((90, 90)), BACKGROUND)) < 15
    assert "1 image(s) not found in" in text
    assert "<h3>Missed by every model (1; first 1)</h3><section class=\"case\"><h3>c.jpg · pants at x 20, y 20, 60×60 px" in text
    assert "amrcnn-spine: missed (no predictions for this image)" in text  # its file has no a.jpg
    assert "facere: 1 false positive(s)" in text and "fformer-swin: 2 false positive(s) on d.jpg" in text


def test_bars_per_category_and_model(report):
    path, compared, _ = report
    text = path.read_text()
    pants_box = {entry["model"]: next(c["ap"] for c in entry["results"][0]["per_category"] if c["name"] == "pants")
                 for entry in compared["models"]}
    assert pants_box["facere"] > 0 and pants_box["amrcnn-spine"] == 0
    pants = text[text.index("<h3>pants"):]
    pants = pants[: pants.index('<div class="category">')] if '<div class="category">' in pants else pants
    assert f'width:{pants_box["facere"] * 100:.1f}%' in pants and "width:0.0%" in pants
    assert "shoe" not in text[text.index("AP per category"):text.index("Failure cases")]  # none annotated: no bars


def test_the_table_as_text_marks_the_best():
    compared = {"annotations": "x.json", "models": [
        {"model": "facere", "file": "a/f.npz", "results": [
            {"iou_type": "bbox", **dict.fromkeys((k for k, _ in METRICS), 0.240)},
            {"iou_type": "segm", **dict.fromkeys((k for k, _ in METRICS), 0.1)}]},
        {"model": "facere", "file": "b/f.npz", "results": [
            {"iou_type": "bbox", **dict.fromkeys((k for k, _ in METRICS), 0.2404)},
            {"iou_type": "segm", **dict.fromkeys((k for k, _ in METRICS), 0.5)}]},
        {"model": "fformer-swin", "file": "c.npz", "results": [
            {"iou_type": "bbox", **dict.fromkeys((k for k, _ in METRICS), 0.01)}]},
    ]}
    text = paper_table_text(paper_table(compared))
    lines = text.splitlines()
    assert lines[0].split("  ")[0] == "model" and "mAR_w top-100" in lines[0]
    assert lines[1].startswith("facere (a/f.npz)") and lines[1].count("24.0* | 10.0") == 5
    assert lines[2].startswith("facere (b/f.npz)") and lines[2].count("24.0* | 50.0*") == 5  # a tie at one decimal
    assert lines[3].startswith("fformer-swin") and lines[3].count("1.0   | –") == 5
    assert lines[-1].endswith("* best in its column")


def results(model: str, box: float, mask: float) -> dict:
    return {"model": model, "file": f"{model}.npz", "results": [
        {"iou_type": "bbox", **dict.fromkeys((k for k, _ in METRICS), box)},
        {"iou_type": "segm", **dict.fromkeys((k for k, _ in METRICS), mask)}]}


def test_one_model_or_a_column_of_ties_has_no_best():
    alone = paper_table_text(paper_table({"annotations": "x.json", "models": [results("facere", 0.0, 0.0)]}))
    assert alone.splitlines()[1].split() == ["facere", *["0.0", "|", "0.0"] * 5], "no 0.0*: nothing to compare"
    assert alone.splitlines()[-1] == "box | mask, weighted over 22 categories, %"
    tied = paper_table({"annotations": "x.json", "models": [results("facere", 0.2, 0.0), results("facere+", 0.2, 0.3)]})
    assert "*" not in paper_table_text(tied).splitlines()[1]  # box: 20.0 both, mask: facere+ wins
    assert paper_table_text(tied).splitlines()[2].count("20.0  | 30.0*") == 5
    assert paper_table_text(tied).splitlines()[-1].endswith("; * best in its column")


def test_a_report_of_one_model_highlights_nothing(tmp_path):
    anns, files = write_case(tmp_path)
    evaluator = Evaluator(anns)
    compared = comparison(anns, evaluator.evaluate(files[0]))
    cases = find_failures(load_models(files[:1]), evaluator.truth)
    path = write_report(tmp_path / "report.html", compared, cases)
    assert parsed(path).best == []
    assert "best in its column" not in path.read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_a_real_browser_shows_the_table_and_every_picture(report, tmp_path):
    path, _, _ = report
    probe = tmp_path / "probe.html"  # the report plus a script that writes what the browser loaded into the title
    probe.write_text(path.read_text().replace("</body>", (
        '<script>addEventListener("load", () => { document.title = JSON.stringify({'
        'loaded: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length, '
        'images: document.images.length, rows: document.querySelectorAll("table.paper tbody tr").length, '
        'best: document.querySelectorAll("table.paper .best").length}); });</script></body>')))
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync"]
    dom = subprocess.run([*flags, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=180, check=True).stdout
    seen = json.loads(dom[dom.index("<title>") + 7:dom.index("</title>")].replace("&quot;", '"'))
    assert seen["rows"] == len(MODELS) and seen["best"] >= 10
    assert seen["images"] == seen["loaded"] == (1 + 4 + 2) * (1 + len(MODELS))
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--user-data-dir={tmp_path / 'profile-shot'}", "--window-size=1200,900",
                    f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=180, check=True)
    picture = Image.open(shot).convert("RGB")
    assert picture.size == (1200, 900)
    colours = {colour for _, colour in picture.getcolors(maxcolors=1 << 20)}
    assert (0xFF, 0xF2, 0xA8) in colours  # the best-value highlight, so the table's CSS was applied
