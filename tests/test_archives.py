"""Safe unpacking of the amrcnn tarballs: crafted archives with escaping members."""

import hashlib
import os
import resource
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from artifacts import EXPECTED, checkpoint_members, make_tar, symlink_chain_tar
from fileserver import FileServer
from gitrepos import commit

from tui import catalog, config, paths
from tui.downloads import Policy, delete_model, fetch_model, model_files_state
from tui.downloads.archives import unpack
from tui.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_a_good_tarball_unpacks_into_place(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", checkpoint_members())
    target = tmp_path / "cache" / "fashionpedia-r50-fpn"
    unpack(archive, target, EXPECTED)
    assert sorted(p.name for p in target.iterdir()) == sorted(EXPECTED)
    assert (target / "model.ckpt.index").read_bytes() == b"model.ckpt.index bytes"
    assert files_under(target.parent) == sorted(["fashionpedia-r50-fpn", *(f"fashionpedia-r50-fpn/{n}" for n in EXPECTED)])


@pytest.mark.parametrize("member, reason", [
    ({"name": "/etc/evil"}, "absolute path"),
    ({"name": "fashionpedia-r50-fpn/../../evil"}, "climbs out"),
    ({"name": "../evil"}, "climbs out"),
    ({"name": "fashionpedia-r50-fpn/link", "type": tarfile.SYMTYPE, "linkname": "../../../outside"}, "symlink"),
    ({"name": "fashionpedia-r50-fpn/abs", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "symlink"),
    ({"name": "fashionpedia-r50-fpn/latest", "type": tarfile.SYMTYPE, "linkname": "model.ckpt.index"}, "symlink"),
    ({"name": "fashionpedia-r50-fpn/hard", "type": tarfile.LNKTYPE, "linkname": "../outside"}, "hard link"),
    ({"name": "fashionpedia-r50-fpn/hard", "type": tarfile.LNKTYPE,
      "linkname": "fashionpedia-r50-fpn/checkpoint"}, "hard link"),
    ({"name": "fashionpedia-r50-fpn/dev", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}, "device"),
    ({"name": "fashionpedia-r50-fpn/disk", "type": tarfile.BLKTYPE, "devmajor": 7, "devminor": 0}, "device"),
    ({"name": "fashionpedia-r50-fpn/pipe", "type": tarfile.FIFOTYPE}, "fifo"),
])
def test_escaping_or_special_members_are_refused_and_nothing_is_written(tmp_path, member, reason):
    data = b"evil" if member.get("type", tarfile.REGTYPE) == tarfile.REGTYPE else None
    archive = make_tar(tmp_path / "bad.tar.gz", [*checkpoint_members(), (member, data)])
    cache = tmp_path / "deep" / "cache"
    cache.mkdir(parents=True)
    with pytest.raises(UserError, match=reason):
        unpack(archive, cache / "fashionpedia-r50-fpn", EXPECTED)
    assert files_under(tmp_path) == ["bad.tar.gz", "deep", "deep/cache"]


def test_a_chain_of_symlinks_past_path_max_is_refused_before_anything_is_written(tmp_path):
    """CVE-2025-4517: the links read as staying inside, and the data filter of the Pythons this
    project allows cannot follow them; unpacking used to write ESCAPE/pwned two folders up."""
    archive = symlink_chain_tar(tmp_path / "evil.tar.gz", climb=2)
    cache = tmp_path / "deep" / "cache"
    cache.mkdir(parents=True)
    with pytest.raises(UserError, match="symlink"):
        unpack(archive, cache / "fashionpedia-r50-fpn", EXPECTED)
    assert files_under(tmp_path) == ["deep", "deep/cache", "evil.tar.gz"]


def test_an_archive_without_the_expected_files_is_refused_and_the_old_target_kept(tmp_path):
    target = tmp_path / "fashionpedia-r50-fpn"
    target.mkdir()
    (target / "old").write_text("kept")
    archive = make_tar(tmp_path / "partial.tar.gz", checkpoint_members()[:2])
    with pytest.raises(UserError, match="does not contain the expected model.ckpt.index"):
        unpack(archive, target, EXPECTED)
    assert files_under(tmp_path) == ["fashionpedia-r50-fpn", "fashionpedia-r50-fpn/old", "partial.tar.gz"]


def test_a_truncated_archive_is_a_user_error(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", checkpoint_members())
    archive.write_bytes(archive.read_bytes()[:60])
    with pytest.raises(UserError, match="truncated|not a readable tar"):
        unpack(archive, tmp_path / "out", EXPECTED)
    assert not (tmp_path / "out").exists()


def test_fetching_an_amrcnn_model_downloads_unpacks_and_records_each_file(tmp_path):
    """The tarball comes from the local server (config url); the source tree is a local git repo."""
    repo = tmp_path / "tpu"
    head = commit(repo, {"README": "tpu"})
    body = make_tar(tmp_path / "r50.tar.gz", checkpoint_members()).read_bytes()
    model = catalog.get("amrcnn-r50-fpn")
    with FileServer() as server:
        server.serve("/r50.tar.gz", body)
        paths.config_file().write_text(f'[models.amrcnn-r50-fpn]\nurl = "{server.url("/r50.tar.gz")}"\n'
                                       f'sha256 = "{hashlib.sha256(body).hexdigest()}"\n'
                                       f'[sources.tpu]\nurl = "{repo}"\ncommit = "{head}"\n')
        settings = config.load()
        path = fetch_model(model, settings, policy=Policy(retries=0))
    assert path == paths.checkpoints_dir() / "fashionpedia-r50-fpn" / "model.ckpt"
    state = model_files_state(model, settings)
    assert state.state == "verified" and len(state.files) == len(EXPECTED)
    assert {f.hash_source for f in state.files} == {"archive"}
    assert state.source.state == "verified" and state.source.head == head
    assert not (paths.checkpoints_dir() / "fashionpedia-r50-fpn.tar.gz").exists()
    # an air-gapped user's copy of the tarball goes through the same checks
    delete_model(model)
    assert model_files_state(model, settings).state == "missing"
    assert fetch_model(model, settings, source_file=tmp_path / "r50.tar.gz") == path
    assert model_files_state(model, settings).state == "verified"


def _names_everywhere(*roots):
    return {p.name for root in roots for p in root.rglob("*")}


ADDRESS_SPACE = 3 << 30
"""The hostile-input commands run under a 3 GiB address-space limit: refusing must not need more."""


def _fetch_command(*args):
    """`fashionfail-tui fetch ARGS` as a process of its own, its memory limited to ADDRESS_SPACE."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    return subprocess.run([sys.executable, "-m", "tui", "fetch", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=limit)


@pytest.mark.parametrize("how", ["--from", "mirror url"])
def test_fetch_refuses_the_symlink_chain_in_one_line_and_writes_nothing_outside_the_cache(
        tmp_path, isolated_dirs, how):
    """Both ways a tarball reaches the cache. The chain climbs three folders from the unpacking
    folder (cache/checkpoints/.X.unpacking), out of the cache into the test's home folder."""
    archive = symlink_chain_tar(tmp_path / "fashionpedia-r50-fpn.tar.gz", climb=3)
    with FileServer() as server:
        server.serve("/r50.tar.gz", archive.read_bytes())
        paths.config_file().write_text(f'[models.amrcnn-r50-fpn]\nurl = "{server.url("/r50.tar.gz")}"\n')
        result = _fetch_command("amrcnn-r50-fpn", *(["--from", archive] if how == "--from" else []))
    assert result.returncode == 2
    err = result.stderr  # after the download's progress lines, when not on a terminal
    assert err.splitlines()[-1].startswith("fashionfail-tui: error: refusing archive member") and "symlink" in err
    assert err.count("fashionfail-tui: error") == 1 and "Traceback" not in err
    assert "pwned" not in _names_everywhere(isolated_dirs, tmp_path)
    assert not (paths.checkpoints_dir() / "fashionpedia-r50-fpn").exists()
    assert not [p for p in paths.checkpoints_dir().iterdir() if p.name.endswith(".unpacking")]
