"""Text from files, servers and the config reaches every output through one function per kind of sink
(tui/text.py): terminal escapes and control characters show as escapes, markup stays text, HTML is
escaped, CSV cells never start a formula.

First each sink's function against hostile strings (a fixed list and a hypothesis search); then the
places that print or show such strings, fed hostile names: `inspect`, `eval`, `failures`, `export
--format csv`, error lines, `env`/`doctor`, report.html (the app's screens are in
tests/test_app_escaping.py).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from rich.console import Console
from rich.markup import render
from textual.content import Content

from evaluation_data import predictions, write_annotations, write_runner_file
from tui import text
from tui.commands import main

ESC = "\x1b"
HOSTILE = [
    "\x1b[2J\x1b[Hcleared",                                         # clear the screen
    "\x1b]0;pwned\x07title",                                         # set the window title (OSC 0)
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",        # an OSC 8 link
    "\x9b31mC1 CSI",                                                 # the 8-bit CSI
    "[red]red[/red]", "[link=javascript:alert(1)]x[/link]", "[@click=app.quit]quit[/]", "[b]bold", "[/]",
    "trailing\\", "\\[red]escaped", "[$accent]var",
    "\u202egpj.exe", "a\u2066b\u2069c", "\u200fRLM",                 # bidi override, isolate, mark
    "line\nbreak", "cr\roverwrite", "nul\x00byte", "bell\x07", "del\x7f", "tab\tx", "ls\u2028ps\u2029",
    ":skull: :red_circle:", "12:30:45",
    "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
    "<script>alert(1)</script>", "\"'&<>",
    "bad\udcffbyte",                                                 # an undecodable byte (surrogateescape)
]
HIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
"""Characters that must never reach an output raw (a line end between lines is the output's own)."""


def no_hidden(output: str) -> None:
    assert not HIDDEN.search(output), f"raw control character in {output!r}"


def expected_in_markup(s: str) -> str:
    return re.sub(r"\\(?=\[|$)", r"\\x5c", text.visible(s))


# One check per sink: what its output must be, rendered the way that sink renders it.

def check_visible(s):
    out = text.visible(s)
    no_hidden(out.replace("\n", ""))
    assert "\n" not in out and (out == s or not s.isprintable())


def check_error_line(s):
    out = text.error_line(f"refused {s}")
    no_hidden(out)
    assert "\n" not in out and out.startswith("refused ")


def check_rich_text(s):
    shown = text.rich_text(s)
    assert shown.plain == text.visible(s) and not shown.spans
    console = Console(file=io.StringIO(), width=10_000, force_terminal=True, color_system="truecolor")
    console.print(shown, "|", shown)
    printed = console.file.getvalue()
    assert printed == f"{text.visible(s)} | {text.visible(s)}\n"  # no style, no emoji, no highlighting
    content = Content.from_rich_text(shown)
    assert content.plain == text.visible(s) and not content.spans


def check_markup(s):
    piece = text.markup(s)
    want = expected_in_markup(s)
    for rendered in (render(f"[bold]{piece}[/bold]"), Content.from_markup(f"[bold]{piece}[/bold]")):
        assert rendered.plain == want
        assert [(span.start, span.end) for span in rendered.spans if span.end > span.start] == [(0, len(want))] \
            if want else True
    for rendered in (render(piece), Content.from_markup(piece)):
        assert rendered.plain == want and not [span for span in rendered.spans if span.end > span.start]
    no_hidden(piece)


def check_notification(s):
    out = text.notification(s)
    no_hidden(out)
    assert out == text.visible(s)


def check_field(s):
    out = text.field(s)
    no_hidden(out)
    assert len(out) == len(s) and "\n" not in out and (out == s or not s.isprintable())


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.data, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.data.append(data)


def check_html(s):
    page = _Collect()
    page.feed(f'<p title="{text.html(s)}">{text.html(s)}</p>')
    page.close()
    assert page.tags == ["p"] and page.attrs == [("title", text.visible(s))] and "".join(page.data) == text.visible(s)


def check_csv_cell(s):
    handle = io.StringIO()
    csv.writer(handle).writerow([text.csv_cell(s), "x"])
    cell = next(csv.reader(io.StringIO(handle.getvalue(), newline="")))[0]
    assert not cell.startswith(text.FORMULA_PREFIXES)
    assert cell == s or (cell == "'" + s and s.startswith(text.FORMULA_PREFIXES))


CHECKS = {
    "terminal": check_visible,
    "error line": check_error_line,
    "Rich or Textual renderable": check_rich_text,
    "inside markup": check_markup,
    "notification": check_notification,
    "text field": check_field,
    "HTML": check_html,
    "CSV cell": check_csv_cell,
}


def test_every_sink_has_a_check():
    """A new kind of output added to tui.text.SINKS must get its check here."""
    assert set(CHECKS) == set(text.SINKS)


@pytest.mark.parametrize("sink", sorted(text.SINKS))
@pytest.mark.parametrize("hostile", HOSTILE, ids=[f"h{i}" for i in range(len(HOSTILE))])
def test_each_sink_shows_hostile_text_as_text(sink, hostile):
    CHECKS[sink](hostile)


def test_what_the_escapes_look_like():
    assert text.visible("\x1b[2Jx\n\u202ey\udcff\x9b") == "\\x1b[2Jx\\n\\u202ey\\xff\\x9b"
    assert text.visible("naïve café 東京 👩\u200d💻") == "naïve café 東京 👩\u200d💻"  # text is left alone
    assert text.csv_cell("=1+1") == "'=1+1" and text.csv_cell("1-2") == "1-2"
    assert text.html("<b>&") == "&lt;b&gt;&amp;"


HOSTILE_PIECES = ["\x1b", "[", "]", "/", "\\", ":", "=", "+", "-", "@", "red", "link=", "skull", "$", "#",
                  "\u202e", "\u2066", "\x9b", "\x07", "\n", "\r", "\t", "\x00", "\udcff", "<", ">", "&", '"', "'",
                  "a", " ", "é", "\u200d"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=3), max_size=12).map("".join))
def test_hostile_strings_through_every_sink(s):
    for check in CHECKS.values():
        check(s)


# The places that print such strings.

NAME = "\x1b]0;pwned\x07[red]x[/red]\u202e:skull:"
FILE_NAME = "\x1b]0;pwned\x07[link=javascript:alert(1)]x[b]\u202e:skull:"
"""For file and image names, which cannot hold a `/` (an image name is its file's base name)."""
FORMULA = "=HYPERLINK(\"evil.example\";\"x\")\x1b[2J.jpg"


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")


@pytest.fixture
def hostile_case(tmp_path):
    """An annotation file and a prediction file (itself with a hostile name) whose image names are hostile:
    one without detections, one starting like a formula."""
    anns = write_annotations(tmp_path / "anns.json", {FILE_NAME + ".jpg": [(6, (10, 10, 50, 50))],
                                                      FORMULA: [(6, (5, 5, 40, 40))]})
    found = write_runner_file(tmp_path / f"{FILE_NAME}.npz", [
        predictions(FILE_NAME + ".jpg", []),
        predictions(FORMULA, [(6, (5, 5, 40, 40), 0.9), (7, (60, 60, 90, 90), 0.8)])], "facere")
    return anns, found


def shown_safely(output: str, *names: str) -> None:
    no_hidden(output.replace("\n", ""))
    for name in names:
        assert text.visible(name) in output, f"{text.visible(name)!r} not shown as it is in {output!r}"


def test_inspect_lists_hostile_image_names_as_text(hostile_case, capsys, wide):
    _, found = hostile_case
    assert main(["inspect", str(found)]) == 0
    out = capsys.readouterr().out
    shown_safely(out, FILE_NAME + ".jpg")


def test_eval_shows_a_hostile_model_name_as_text(hostile_case, capsys, wide):
    anns, found = hostile_case
    assert main(["eval", str(found), "--anns", str(anns), "--per-category"]) == 0
    shown_safely(capsys.readouterr().out, FILE_NAME)


def test_failures_tables_show_hostile_names_as_text(hostile_case, capsys, wide):
    anns, found = hostile_case
    assert main(["failures", str(found), "--anns", str(anns)]) == 0
    shown_safely(capsys.readouterr().out, FILE_NAME + ".jpg", FORMULA, FILE_NAME)


def test_csv_export_neutralises_formulas_and_keeps_numbers(hostile_case, tmp_path, capsys):
    _, found = hostile_case
    out = tmp_path / "out.csv"
    assert main(["export", str(found), "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [row["image"] for row in rows] == ["'" + FORMULA] * 2  # the text as it is, behind one quote
    for row in rows:
        assert not any(str(cell).startswith(text.FORMULA_PREFIXES) for cell in row.values()), row
        float(row["score"]), float(row["x1"])  # numbers stay numbers
    negative = write_runner_file(tmp_path / "neg.npz", [predictions("n.jpg", [(6, (-5, -5, 40, 40), 0.9)])], "facere")
    assert main(["export", str(negative), "--format", "csv", "--out", str(out), "--overwrite"]) == 0
    assert next(csv.DictReader(out.open(newline="", encoding="utf-8")))["x1"] == "-5"


def test_an_error_line_quoting_hostile_text_is_one_visible_line(tmp_path, capsys):
    hostile = tmp_path / f"{NAME}\nsecond line.npz"
    assert main(["inspect", str(hostile)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fashionfail-tui: error: ")
    shown_safely(err)
    assert text.visible(NAME) in err


def test_hidden_means_what_the_escape_escapes():
    for code in list(range(0x0, 0x20)) + list(range(0x7f, 0xa0)) + [0x202e, 0x2066, 0x200f, 0x2028]:
        char = chr(code)
        assert text.visible(char) != char, unicodedata.name(char, hex(code))


def test_report_html_shows_hostile_names_as_text(tmp_path):
    """A model file named like an HTML element with a script, and image names with escapes: report.html
    holds them as text (no element, no handler attribute, no raw control character)."""
    from tui.evaluation.evaluator import Evaluator
    from tui.evaluation.failures import find_failures, load_models
    from tui.evaluation.report import comparison
    from tui.evaluation.report_html import write_report

    stem = "<img src=x onerror=alert(1)>\x1b[2J\u202e"
    anns = write_annotations(tmp_path / "anns.json", {FILE_NAME + ".jpg": [(6, (10, 10, 50, 50))],
                                                      FORMULA: [(6, (5, 5, 40, 40))]})
    found = write_runner_file(tmp_path / f"{stem}.npz", [
        predictions(FILE_NAME + ".jpg", [(7, (60, 60, 90, 90), 0.8)]),
        predictions(FORMULA, [(6, (5, 5, 40, 40), 0.9)])], "facere")
    evaluator = Evaluator(anns)
    compared = comparison(anns, evaluator.evaluate(found))
    compared["models"][0]["model"] = stem  # as a hostile meta would name it
    page = write_report(tmp_path / "report.html", compared, find_failures(load_models([found]), evaluator.truth)).read_text()
    no_hidden(page.replace("\n", ""))
    parsed = _Collect()
    parsed.feed(page)
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    shown = "".join(parsed.data)
    for name in (stem, FILE_NAME + ".jpg"):
        assert text.visible(name) in shown


def test_env_doctor_and_models_show_a_hostile_interpreter_path_as_text(tmp_path, capsys, wide):
    """An external interpreter in a folder whose name holds escapes and markup: `env use`, `env list`,
    `doctor` and `models` print its path as text."""
    from test_env_external import ORIGINAL_CONFIG, SPEC, CHECK, make_venv
    from tui import paths

    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("amrcnn", "facere"):
        (specs / f"{name}.yml").write_text(SPEC.format(name=name))
        (specs / f"{name}.post.toml").write_text(CHECK)
    paths.config_file().write_text(ORIGINAL_CONFIG.format(specs=specs))
    folder = "\x1b]0;pwned\x07[red]env[b]\u202e"  # venv refuses a path with the path separator `:`
    python = make_venv(tmp_path / folder)
    assert main(["env", "use", "amrcnn", str(python)]) == 0
    shown_safely(capsys.readouterr().out, str(python))
    for argv in (["env", "list"], ["doctor", "amrcnn"], ["models"]):
        main(argv)
        captured = capsys.readouterr()
        no_hidden((captured.out + captured.err).replace("\n", ""))
    main(["env", "list"])
    assert text.visible(folder) in capsys.readouterr().out.replace("\n", "")
