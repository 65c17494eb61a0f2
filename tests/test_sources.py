"""Source trees cloned from local git repositories the tests create: pinned commit, no-op, repairs."""

import pytest
from gitrepos import commit, git

from tui import catalog, config, paths
from tui.catalog import SourceTree
from tui.downloads import ensure_source, resolve, tree_state
from tui.errors import UserError


@pytest.fixture
def upstream(tmp_path):
    """A repo with two commits; the tests pin the first, so HEAD is never the pin by accident."""
    repo = tmp_path / "upstream" / "tpu"
    first = commit(repo, {"models/official/detection/main.py": "print('pinned')\n"}, "pinned")
    commit(repo, {"models/official/detection/main.py": "print('later')\n"}, "later")
    return repo, first


def test_clone_checks_out_the_pinned_commit_with_progress(upstream):
    repo, pinned = upstream
    events = []
    path = ensure_source(SourceTree("tpu", f"file://{repo}", pinned), events.append)
    assert path == paths.sources_dir() / "tpu"
    assert git(path, "rev-parse", "HEAD") == pinned
    assert (path / "models/official/detection/main.py").read_text() == "print('pinned')\n"
    counted = [e for e in events if e.stage == "clone" and e.total]
    assert counted and counted[-1].done == counted[-1].total
    assert tree_state(SourceTree("tpu", str(repo), pinned)).state == "verified"
    assert [p.name for p in paths.sources_dir().iterdir() if not p.name.endswith(".lock")] == ["tpu"]


def test_a_second_run_leaves_a_right_tree_alone(upstream):
    repo, pinned = upstream
    tree = SourceTree("tpu", str(repo), pinned)
    path = ensure_source(tree)
    (path / "untracked-build-output").write_text("kept")
    git_dir_inode = (path / ".git").stat().st_ino
    events = []
    ensure_source(tree, events.append)
    assert events == [] and (path / ".git").stat().st_ino == git_dir_inode
    assert (path / "untracked-build-output").read_text() == "kept"


def test_a_tree_at_another_commit_or_with_edits_is_repaired(upstream):
    repo, pinned = upstream
    tree = SourceTree("tpu", str(repo), pinned)
    path = ensure_source(tree)
    git(path, "checkout", "-q", "--detach", git(repo, "rev-parse", "HEAD"))
    assert tree_state(tree).state == "wrong-commit"
    ensure_source(tree)
    assert git(path, "rev-parse", "HEAD") == pinned and tree_state(tree).state == "verified"

    (path / "models/official/detection/main.py").write_text("edited")
    ensure_source(tree)
    assert (path / "models/official/detection/main.py").read_text() == "print('pinned')\n"


def test_a_broken_tree_is_cloned_again(upstream):
    repo, pinned = upstream
    tree = SourceTree("tpu", str(repo), pinned)
    path = paths.sources_dir() / "tpu"
    (path / ".git").mkdir(parents=True)
    (path / "stray").write_text("x")
    assert tree_state(tree).state == "broken"
    ensure_source(tree)
    assert git(path, "rev-parse", "HEAD") == pinned and not (path / "stray").exists()


def test_a_new_pin_is_fetched_into_an_existing_clone(upstream):
    repo, pinned = upstream
    path = ensure_source(SourceTree("tpu", str(repo), pinned))
    newer = commit(repo, {"NEW": "n"}, "newer")
    ensure_source(SourceTree("tpu", str(repo), newer))
    assert git(path, "rev-parse", "HEAD") == newer and (path / "NEW").exists()


def test_a_pinned_commit_missing_upstream_fails_and_leaves_nothing(upstream):
    repo, _ = upstream
    with pytest.raises(UserError, match="commit 0123456789abcdef0123456789abcdef01234567 is not in"):
        ensure_source(SourceTree("tpu", str(repo), "0123456789abcdef0123456789abcdef01234567"))
    assert not (paths.sources_dir() / "tpu").exists()


def test_an_unreachable_repository_is_one_line(tmp_path):
    with pytest.raises(UserError, match="git clone of .*nowhere failed") as caught:
        ensure_source(SourceTree("FashionFormer", str(tmp_path / "nowhere"), None))
    assert "\n" not in str(caught.value)


def test_config_points_a_tree_elsewhere(upstream, tmp_path):
    repo, pinned = upstream
    paths.config_file().write_text(f'[sources.TPU]\nurl = "{repo}"\ncommit = "{pinned.upper()}"\n')
    tree = resolve(catalog.get("amrcnn-spine").source, config.load())
    assert tree == SourceTree("tpu", str(repo), pinned)
    assert tree_state(resolve(catalog.get("amrcnn-spine").source, config.Config())).commit.startswith("85b65b6")


def test_an_unknown_source_tree_in_the_config_is_one_line_with_its_line_number():
    paths.config_file().write_text('[run]\ndevice = "cpu"\n[sources.detectron]\nurl = "x"\n')
    with pytest.raises(UserError, match=r"config.toml:3: \[sources.detectron\] must be a table named after "
                                        r"a source tree \(tpu, FashionFormer\)"):
        config.load()
