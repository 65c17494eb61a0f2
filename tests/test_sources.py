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


# ---- values git would read as options ------------------------------------------------------

def _option_that_touches(marker) -> str:
    return f"--upload-pack=touch {marker};git-upload-pack"


@pytest.mark.parametrize("key", ["commit", "url"])
def test_a_config_value_that_git_would_read_as_an_option_is_refused_and_runs_nothing(upstream, tmp_path, key):
    """`fetch` with the tarball at hand: the clone and checkout would follow the import."""
    from artifacts import checkpoint_members, make_tar
    from tests.helpers.runs import cli

    repo, pinned = upstream
    marker = tmp_path / "pwned"
    values = {"url": str(repo), "commit": pinned, key: _option_that_touches(marker)}
    paths.config_file().write_text(f'[sources.tpu]\nurl = "{values["url"]}"\ncommit = "{values["commit"]}"\n')
    archive = make_tar(tmp_path / "fashionpedia-r50-fpn.tar.gz", checkpoint_members())
    result = cli("fetch", "amrcnn-r50-fpn", "--from", archive, check=False)
    assert result.returncode == 2 and not marker.exists()
    assert result.stderr.startswith(f"fashionfail-tui: error: config file {paths.config_file()}:")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("commit_value, accepted", [
    ("85b65b6", True), ("85B65B648B0AEFBF30CD65FE674D7607F3CAF2E3", True), ("85b65b", False),
    ("HEAD", False), ("main", False), ("-c", False), ("85b65b648b0aefbf30cd65fe674d7607f3caf2e3a", False),
])
def test_only_hex_commit_ids_are_accepted_in_the_config(commit_value, accepted):
    paths.config_file().write_text(f'[sources.tpu]\ncommit = "{commit_value}"\n')
    if accepted:
        assert config.load().source_override_for("tpu").commit == commit_value.lower()
    else:
        with pytest.raises(UserError, match=r"config.toml:2: 'commit' must be a commit id: 7 to 40 hex digits"):
            config.load()


@pytest.mark.parametrize("field", ["commit", "url"])
def test_git_never_reads_a_tree_value_as_an_option_even_past_the_config(upstream, tmp_path, field):
    """The config refuses these; ensure_source must not need it to: no git call reads them as options.
    The clone lacks the newer pin, so the repair fetches and checks out, then a fresh clone is tried."""
    repo, pinned = upstream
    ensure_source(SourceTree("tpu", str(repo), pinned))
    newer = commit(repo, {"NEW": "x"}, "newer")
    marker = tmp_path / "pwned"
    values = {"name": "tpu", "url": str(repo), "commit": newer, field: _option_that_touches(marker)}
    with pytest.raises(UserError):
        ensure_source(SourceTree(**values))
    assert not marker.exists()


def test_an_abbreviated_pin_is_checked_out_and_counts_as_verified(upstream):
    repo, pinned = upstream
    path = ensure_source(SourceTree("tpu", str(repo), pinned[:10]))
    assert git(path, "rev-parse", "HEAD") == pinned
    assert tree_state(SourceTree("tpu", str(repo), pinned[:10])).state == "verified"
