"""A real local conda channel for the environment tests: tiny noarch packages (a shell script and
a data file each) indexed by py-rattler, plus environment specs that install from it."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

from rattler.index import index_fs

from tui.config import Config


def build_package(channel: Path, name: str, version: str, files: dict[str, bytes], depends=()) -> Path:
    """A noarch `.tar.bz2` with info/index.json, info/paths.json, info/files and `files`."""
    subdir = channel / "noarch"
    subdir.mkdir(parents=True, exist_ok=True)
    index = {"name": name, "version": version, "build": "0", "build_number": 0, "depends": list(depends),
             "noarch": "generic", "subdir": "noarch", "license": "MIT", "timestamp": 1700000000000}
    paths_json = {"paths_version": 1, "paths": [
        {"_path": path, "path_type": "hardlink", "sha256": hashlib.sha256(data).hexdigest(), "size_in_bytes": len(data)}
        for path, data in files.items()]}
    members = {"info/index.json": json.dumps(index).encode(), "info/paths.json": json.dumps(paths_json).encode(),
               "info/files": ("\n".join(files) + "\n").encode(), **files}
    archive = subdir / f"{name}-{version}-0.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o755 if path.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return archive


def build_channel(root: Path) -> Path:
    """`hello` (a `bin/hello` script), `greet` (data, depends on hello) and a stand-in `python`
    (its `bin/python` runs the test's own interpreter), indexed by py-rattler."""
    channel = root / "channel"
    build_package(channel, "python", "3.9.0", {"bin/python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'.encode()})
    build_package(channel, "hello", "1.0", {"bin/hello": b"#!/bin/sh\necho hello from the test channel\n",
                                            "share/hello/data.txt": b"hello\n"})
    build_package(channel, "greet", "2.0", {"share/greet/greeting.txt": b"good day\n"}, depends=["hello >=1"])
    asyncio.run(index_fs(channel))
    return channel


TINY_POST = """size_mb = 1
[[steps]]
name = "say hello"
run = ["{prefix}/bin/hello"]

[verify]
files = ["share/greet/greeting.txt"]
run = ["{prefix}/bin/hello"]
"""


def write_spec(specs: Path, family: str, channel: Path, dependencies=("greet",), post: str = TINY_POST) -> Path:
    specs.mkdir(parents=True, exist_ok=True)
    deps = "".join(f"  - {d}\n" for d in dependencies)
    (specs / f"{family}.yml").write_text(
        f"# a test environment\nname: fashionfail-{family}\nchannels:\n  - {channel.as_uri()}\ndependencies:\n{deps}")
    (specs / f"{family}.post.toml").write_text(post)
    return specs / f"{family}.yml"


def config_for(specs: Path, **overrides) -> Config:
    return Config(specs_dir=specs, **{"backend": "embedded", **overrides})
