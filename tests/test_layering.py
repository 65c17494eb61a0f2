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


# Lowest first: a module may import its own layer and those below it, never one above. Every module
# of tui/ must fall under one of these prefixes (the longest that matches), so a new one gets a place.
LAYERS = (
    ("tui.errors", "tui.units", "tui.files", "tui.paths", "tui.lazy", "tui.processes", "tui.text",
     "tui.outside_json", "tui.urls", "tui.annotation_schema", "tui.image_files", "tui.collector"),
    ("tui.catalog",),
    ("tui.config",),
    ("tui.downloads", "tui.environments", "tui.predictions", "tui.gpu"),
    ("tui.evaluation", "tui.runs", "tui.cluster", "tui.dataset"),
    ("tui.setup",),
    ("tui.comparison",),
    ("tui.widgets",),
    ("tui.screens",),
    ("tui.app",),
    ("tui.commands",),  # the entry point: no command opens the app, and `browse` opens it
    ("tui.__main__",),
)


def tui_modules() -> dict[str, Path]:
    """Every module and package of tui/ by dotted name."""
    found = {}
    for path in sorted((ROOT / "tui").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The tui modules a file imports anywhere in it (module level, functions, TYPE_CHECKING blocks).

    `from tui.a import b` imports the module tui.a.b when there is one, else a name from tui.a itself,
    which counts even when the importer is inside tui.a (the E402 kind of cycle). The packages Python
    runs on the way count too, less the importer's own enclosing packages (already running)."""
    importer = next(name for name, file in modules.items() if file == path)
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            wanted = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                      for a in node.names]
        else:
            continue
        for name in wanted:
            if name.split(".")[0] != "tui" or name not in modules:
                continue
            targets.add(name)
            parts = name.split(".")
            targets |= {package for package in (".".join(parts[:end]) for end in range(2, len(parts)))
                        if not importer.startswith(package + ".")}
    return targets - {importer}


def layer_of(module: str) -> int:
    matches = [(len(prefix), index) for index, prefixes in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    assert matches or module == "tui", f"{module} is in no layer: give it a place in LAYERS"
    return max(matches)[1] if matches else -1


def import_graph() -> dict[str, set[str]]:
    modules = tui_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
              for module, targets in import_graph().items() for target in sorted(targets)
              if layer_of(target) > layer_of(module)]
    assert upward == []


def test_no_import_cycles():
    graph = import_graph()
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_import_graph_sees_deferred_and_package_imports():
    """The checks above would pass vacuously if the graph missed imports: it sees one made inside a
    function (the app opened by a command) and the package a submodule import runs."""
    graph = import_graph()
    assert "tui.app" in graph["tui.commands"]
    assert {"tui.runs", "tui.runs.shards"} <= graph["tui.cluster.record"]


def test_the_app_loads_the_runners_files_without_their_folder_on_its_path():
    """`common`, `protocol` and `run_files` are the runners' module names, never the app's."""
    modules = sorted(core_modules())
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        "from tui import paths\nfrom tui.runs.runner_files import run_files\n"
        "print(run_files().select_images.__module__, sorted({'common', 'protocol', 'run_files'} & set(sys.modules)),"
        " str(paths.runners_dir()) in sys.path)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["tui.runs._runners_run_files", "[]", "False"]
