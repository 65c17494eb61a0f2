"""Make docs/screenshots/report.png: the report.html of a real `compare` on the docs' fixtures (the
paper's comparison in miniature of tests/helpers/paper_demo.py: Facere and Facere+ stand-ins over a
six-photo FashionFail fetched from a local server), as headless Chromium shows it, in 256 colours.

    PYTHONPATH=. python docs/screenshots/report.py [--chromium /usr/bin/chromium]

Everything happens in a temporary folder posing as the home folder (its cache, config and data
folders set through FASHIONFAIL_TUI_*), so your own cache and config are not touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fileserver import FileServer  # noqa: E402

from tests.helpers.paper_demo import fetch_and_compare, serve_paper_demo  # noqa: E402
from tui import paths  # noqa: E402

TARGET = ROOT / "docs" / "screenshots" / "report.png"
WINDOW = "1200,1600"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    chromium = parser.parse_args().chromium
    with tempfile.TemporaryDirectory(prefix="fashionfail-report-") as folder:
        home = Path(folder)
        os.environ[paths.CACHE_ENV] = str(home / ".cache" / "fashionfail")
        os.environ[paths.DATA_ENV] = str(home / ".local" / "share" / "fashionfail")
        os.environ[paths.CONFIG_ENV] = str(home / ".config" / "fashionfail" / "config.toml")
        with FileServer() as server:
            serve_paper_demo(server, home / "demo")
            report, screenshot = fetch_and_compare(home) / "report.html", home / "report.png"
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={home / 'chromium'}",
                        f"--screenshot={screenshot}", f"--window-size={WINDOW}", report.as_uri()],
                       check=True, capture_output=True)
        with Image.open(screenshot) as picture:  # 256 colours: a quarter of the bytes, no visible loss
            picture.convert("RGB").quantize(256).save(TARGET, optimize=True)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
