"""Source trees (jangop/tpu, FashionFormer) cloned with git into `paths.sources_dir()/<name>`.

`ensure_source` is idempotent: a tree that is present, clean and at the pinned commit is left
alone; one at another commit or with edited tracked files is fetched and checked out again; one
that is not a working git repository is cloned afresh (into a temporary folder, then renamed).

No value from the catalog or the config reaches git where it could be read as an option: urls
come after `--`, and a commit must be a hex commit id (7 to 40 digits, checked again here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tui import paths
from tui.catalog import SourceTree
from tui.config import COMMIT_ID, Config
from tui.downloads.locks import locked
from tui.downloads.progress import Progress, ProgressCallback, ignore
from tui.errors import UserError

_PROGRESS = re.compile(r"^(?:remote: )?([A-Za-z ]+):\s+(\d+)% \((\d+)/(\d+)\)")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_ASK_YESNO": "false"}


@dataclass(frozen=True)
class TreeState:
    name: str
    path: Path
    state: str
    """missing | verified (at the pinned commit, or any commit when none is pinned) | wrong-commit | broken"""
    head: str | None
    commit: str | None
    url: str


def resolve(tree: SourceTree, config: Config) -> SourceTree:
    """The tree with the config's `[sources.NAME]` url/commit applied."""
    override = config.source_override_for(tree.name)
    return SourceTree(tree.name, override.url or tree.url, override.commit or tree.commit)


def tree_path(tree: SourceTree) -> Path:
    return paths.sources_dir() / tree.name


def _read_head(repo: Path) -> str | None:
    """HEAD's commit read from .git without running git (cheap enough for every screen refresh)."""
    git_dir = repo / ".git"
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head if _HEX40.match(head) else None
        ref = head[5:]
        loose = git_dir / ref
        if loose.is_file():
            return loose.read_text().strip()
        for line in (git_dir / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    except OSError:
        pass
    return None


def tree_state(tree: SourceTree) -> TreeState:
    path = tree_path(tree)
    head = _read_head(path)
    if not path.exists():
        state = "missing"
    elif head is None:
        state = "broken"
    elif not _at_pin(head, tree):
        state = "wrong-commit"
    else:
        state = "verified"
    return TreeState(tree.name, path, state, head, tree.commit, tree.url)


def _at_pin(head: str, tree: SourceTree) -> bool:
    """HEAD is the pinned commit (named in full or abbreviated), or nothing is pinned."""
    return not tree.commit or head.startswith(tree.commit)


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **_GIT_ENV})
    except FileNotFoundError:
        raise UserError("git is not installed; install git to fetch the model source trees") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]
    return lines[-1] if lines else "no message"


def _clone(tree: SourceTree, into: Path, on_progress: ProgressCallback) -> None:
    """`git clone --progress`, its progress lines turned into events."""
    try:
        process = subprocess.Popen(["git", "clone", "--progress", "--no-checkout", "--", tree.url, str(into)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   env={**os.environ, **_GIT_ENV})
    except FileNotFoundError:
        raise UserError("git is not installed; install git to fetch the model source trees") from None
    seen, buffer = [], b""
    assert process.stderr is not None
    while chunk := process.stderr.read1(4096):
        buffer += chunk
        *lines, buffer = re.split(rb"[\r\n]", buffer)
        for line in lines:
            text = line.decode(errors="replace")
            seen.append(text)
            if match := _PROGRESS.match(text):
                on_progress(Progress("clone", tree.name, int(match.group(3)), int(match.group(4)),
                                     message=match.group(1).strip()))
    if process.wait() != 0:
        raise UserError(f"git clone of {tree.url} failed: {_last_line(chr(10).join(seen) + buffer.decode(errors='replace'))}")


def _check_out(tree: SourceTree, repo: Path, on_progress: ProgressCallback) -> None:
    """Put the pinned commit (or, unpinned, the current HEAD) in the work tree, fetching it if needed."""
    if tree.commit and not COMMIT_ID.match(tree.commit):
        raise UserError(f"the pinned commit of {tree.name} must be 7 to 40 hex digits, not {tree.commit!r}")
    commit = tree.commit or "HEAD"
    if tree.commit and _git("cat-file", "-e", f"{commit}^{{commit}}", cwd=repo).returncode != 0:
        on_progress(Progress("clone", tree.name, message=f"fetching commit {commit[:12]}"))
        fetched = _git("fetch", "--quiet", "--", tree.url, commit, cwd=repo)
        if fetched.returncode != 0 and _git("fetch", "--quiet", "--", tree.url, cwd=repo).returncode != 0:
            raise UserError(f"cannot fetch from {tree.url}: {_last_line(fetched.stderr)}")
    checked = _git("-c", "advice.detachedHead=false", "checkout", "--force", "--detach", commit, "--", cwd=repo)
    if checked.returncode != 0:
        raise UserError(f"commit {commit} is not in {tree.url} ({_last_line(checked.stderr)})")


def _verify(tree: SourceTree, repo: Path) -> str:
    head = _git("rev-parse", "HEAD", cwd=repo)
    if head.returncode != 0:
        raise UserError(f"{repo} is not a working git repository after checkout")
    sha = head.stdout.strip()
    if not _at_pin(sha, tree):
        raise UserError(f"{repo} is at {sha}, not the pinned commit {tree.commit}")
    return sha


def _is_right(tree: SourceTree, repo: Path) -> bool:
    """At the pinned commit with no tracked file edited (untracked files, like __pycache__, are fine)."""
    head = _git("rev-parse", "HEAD", cwd=repo)
    if head.returncode != 0 or not _at_pin(head.stdout.strip(), tree):
        return False
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=repo)
    return status.returncode == 0 and not status.stdout.strip()


def ensure_source(tree: SourceTree, on_progress: ProgressCallback = ignore) -> Path:
    """Make `sources/<name>` a clone of `tree.url` at `tree.commit`; return its path."""
    target = tree_path(tree)
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target):
        if (target / ".git").exists() and _git("rev-parse", "--git-dir", cwd=target).returncode == 0:
            if _is_right(tree, target):
                return target
            on_progress(Progress("clone", tree.name, message="repairing: checking out the pinned commit"))
            try:
                _check_out(tree, target, on_progress)
                _verify(tree, target)
                return target
            except UserError:
                pass  # fall through to a fresh clone
        staging = Path(tempfile.mkdtemp(prefix=f".{tree.name}.", suffix=".cloning", dir=target.parent))
        try:
            _clone(tree, staging / "repo", on_progress)
            _check_out(tree, staging / "repo", on_progress)
            _verify(tree, staging / "repo")
            if target.exists():
                shutil.rmtree(target)
            (staging / "repo").rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
