"""The core never imports Textual; runners parse as Python 3.8 and never import the app."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tui

ROOT = Path(__file__).resolve().parents[1]
UI_PACKAGES = ("tui.app", "tui.screens", "tui.widgets")


def core_modules():
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        if not info.name.startswith(UI_PACKAGES) and info.name != "tui.__main__":
            yield info.name


def test_core_has_no_textual_import():
    modules = sorted(core_modules())
    assert "tui.catalog" in modules and "tui.commands" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_runners_parse_as_python_38_and_import_nothing_from_the_app():
    scripts = sorted((ROOT / "runners").rglob("*.py"))
    assert scripts
    for script in scripts:
        tree = ast.parse(script.read_text(), filename=str(script), feature_version=(3, 8))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "tui" or n.startswith("tui.") for n in names), f"{script} imports the app"
