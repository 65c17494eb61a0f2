"""Start-up times of the three things a user waits for, each against a bare `python -c pass`.

    python bench/bench_startup.py [--rounds 7] [--only help|inspect|app]

  help     `fashionfail-tui --help`                                        goal <= 0.3 s
  inspect  `fashionfail-tui inspect FILE` of an indexed 10,000 x 100 file  goal <= 0.5 s
  app      `fashionfail-tui` until the home screen's first frame           goal <= 1.5 s

Everything runs in fresh interpreters of this checkout with empty cache, data and config folders
made here. The inspect file is bench_browser.py's (built once into the temp dir, then indexed here
before the timed runs). The app runs in a pseudo-terminal of 120x40; its time is from the start
until the home screen's text is on the terminal, after which it gets Ctrl+Q. Each round runs every
command once, `python -c pass` first; the medians are printed with their ratio to it, and every
round's time. One warm-up round (not counted) writes the bytecode caches, as an installed package has.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"help": 0.3, "inspect": 0.5, "app": 1.5}
HOME_TEXT = "six models"
"""Words of the home screen's first line: on the terminal, the first frame has been drawn."""
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env.update(PYTHONPATH=str(ROOT), FASHIONFAIL_TUI_CACHE_DIR=str(home / "cache"),
               FASHIONFAIL_TUI_DATA_DIR=str(home / "data"), FASHIONFAIL_TUI_CONFIG=str(home / "config.toml"),
               TERM="xterm-256color", COLUMNS="120", LINES="40")
    return env


def timed_command(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def timed_first_frame(env: dict[str, str], timeout: float = 60.0) -> float:
    """Seconds from starting the app in a pseudo-terminal to the home screen's text on it."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "tui"], stdin=follower, stdout=follower, stderr=follower,
                           env=env, cwd=ROOT, start_new_session=True)
    os.close(follower)
    seen, took = b"", None
    try:
        while took is None and time.perf_counter() - start < timeout:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                seen += os.read(leader, 1 << 16)
                if HOME_TEXT.encode() in ESCAPES.sub(b"", seen):
                    took = time.perf_counter() - start
        if took is None:
            raise SystemExit(f"the home screen did not appear within {timeout} s; the terminal got:\n"
                             + ESCAPES.sub(b"", seen).decode(errors="replace")[-2000:])
        os.write(leader, b"\x11")  # Ctrl+Q
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        os.close(leader)
    return took


def indexed_file(env: dict[str, str]) -> Path:
    """bench_browser.py's 10,000 x 100 file, opened once so that the cache has its index."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_browser import bench_file

    path = bench_file(10_000, 100)
    subprocess.run([sys.executable, "-m", "tui", "inspect", str(path)], env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", choices=tuple(GOALS), action="append", help="measure only these (repeatable)")
    args = parser.parse_args()
    chosen = args.only or list(GOALS)
    with tempfile.TemporaryDirectory(prefix="fashionfail-startup-") as folder:
        env = environment(Path(folder))
        commands = {"python -c pass": lambda: timed_command([sys.executable, "-c", "pass"], env)}
        if "help" in chosen:
            commands["help"] = lambda: timed_command([sys.executable, "-m", "tui", "--help"], env)
        if "inspect" in chosen:
            target = indexed_file(env)
            commands["inspect"] = lambda: timed_command([sys.executable, "-m", "tui", "inspect", str(target)], env)
        if "app" in chosen:
            commands["app"] = lambda: timed_first_frame(env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round_number in range(args.rounds + 1):
            for name, command in commands.items():
                took = command()
                if round_number:  # round 0 warms the bytecode caches
                    times[name].append(took)
    bare = statistics.median(times.pop("python -c pass"))
    load = os.getloadavg()
    print(f"{args.rounds} rounds, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"python -c pass {bare * 1000:.0f} ms (median)")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        verdict = "met" if median <= GOALS[name] else "MISSED"
        print(f"{name:8} {median:6.3f} s median, {median / bare:5.1f}x python -c pass; "
              f"goal <= {GOALS[name]} s: {verdict}"
              f"  [rounds: {' '.join(f'{s:.3f}' for s in seconds)}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
