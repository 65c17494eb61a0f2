"""Make docs/screenshots/gpu.svg: the home screen with the GPU pane open, fed by a FAKE source, the
test suite's stand-in pynvml replaying the real H200 load dump (tests/fixtures/gpu/nvml-load.json),
with pid 452 (the dump's python3 process) standing in for the app's runner.

    PYTHONPATH=. python docs/screenshots/gpu.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from gpu_standins import nvml_samples, replay_pynvml  # noqa: E402

sys.modules["pynvml"] = replay_pynvml("load", process_names={452: "python3"})

from tui.app import FashionFailApp  # noqa: E402
from tui.config import Config  # noqa: E402
from tui.widgets.gpu.bars import PercentSparkline  # noqa: E402


async def main() -> None:
    app = FashionFailApp(config=Config(gpu_interval=0.05))
    app.runner_pids = frozenset({452})
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.press("g")
        for _ in range(200):
            await pilot.pause(0.05)
            lines = app.screen.query(PercentSparkline)
            if lines and len(lines.first().values) >= len(nvml_samples("load")):
                break
        await pilot.pause(0.2)
        app.save_screenshot(filename="gpu.svg", path=str(ROOT / "docs" / "screenshots"))


if __name__ == "__main__":
    asyncio.run(main())
