"""Whether a checkpoint is the paper's: the checksum the official source states, recorded at the fetch
(Hugging Face's X-Linked-Etag, Google Cloud Storage's x-goog-hash md5), and the paper's file size.

The official source is the catalog's url; here a copy of the catalog entry points at a real HTTP
server on 127.0.0.1 (tests/fileserver.py) that answers with those headers."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from artifacts import checkpoint_members, make_tar, torch_zip
from fileserver import FileServer

from tests.helpers.onnx_models import build_maskrcnn_like
from tui import catalog, config, paths
from tui.commands import main
from tui.downloads import Policy, fetch_model
from tui.downloads.paper import paper_checkpoint
from tui.errors import UserError

FAST = Policy(connect_timeout=2, read_timeout=5, retries=1, backoff=0.01)


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def official(model_name: str, url: str, size: int | None) -> catalog.Model:
    """The catalog's model with its official url (and the paper's file size) pointing at the test server."""
    model = catalog.get(model_name)
    return dataclasses.replace(model, weights=dataclasses.replace(model.weights, url=url, size=size))


def test_a_file_matching_hugging_faces_stated_sha256_is_the_papers_and_a_stand_in_imported_over_it_is_not(
        server, tmp_path):
    body = build_maskrcnn_like(tmp_path / "real.onnx").read_bytes()
    server.serve("/resolve/facere_base.onnx", body, linked_sha256=hashlib.sha256(body).hexdigest())
    model = official("facere", server.url("/resolve/facere_base.onnx"), size=len(body))
    settings = config.load()
    fetch_model(model, settings, policy=FAST)
    check = paper_checkpoint(model, settings)
    assert check.paper is True and "sha256" in check.reason and check.warning is None

    # the same size, other bytes: what Hugging Face stated for the paper's file no longer matches
    other = bytearray(body)
    other[-1] ^= 1
    (tmp_path / "tuned.onnx").write_bytes(bytes(other))
    fetch_model(model, settings, source_file=tmp_path / "tuned.onnx")
    check = paper_checkpoint(model, settings)
    assert check.paper is False and "differs from the one 127.0.0.1 states" in check.reason
    assert check.warning.startswith("not the paper's checkpoint (")


def test_a_tarball_matching_the_md5_google_cloud_storage_states_is_the_papers(server, tmp_path):
    tarball = make_tar(tmp_path / "fashionpedia-r50-fpn.tar.gz", checkpoint_members()).read_bytes()
    server.serve("/fashionpedia-r50-fpn.tar.gz", tarball, goog_md5=True)
    model = official("amrcnn-r50-fpn", server.url("/fashionpedia-r50-fpn.tar.gz"), size=None)
    settings = config.load()
    fetch_model(dataclasses.replace(model, source=None), settings, policy=FAST)
    check = paper_checkpoint(model, settings)
    assert check.paper is True and "md5" in check.reason
    # an unpacked file changed since: nothing can be told
    (paths.checkpoints_dir() / "fashionpedia-r50-fpn" / "checkpoint").write_bytes(b"edited")
    assert paper_checkpoint(model, settings).paper is None


def test_a_wrong_md5_from_google_cloud_storage_deletes_the_download(server, tmp_path):
    tarball = make_tar(tmp_path / "fashionpedia-r50-fpn.tar.gz", checkpoint_members()).read_bytes()
    server.serve("/fashionpedia-r50-fpn.tar.gz", tarball, goog_md5=True, corrupt=True)  # other bytes than stated
    model = official("amrcnn-r50-fpn", server.url("/fashionpedia-r50-fpn.tar.gz"), size=None)
    with pytest.raises(UserError, match="the server states md5"):
        fetch_model(dataclasses.replace(model, source=None), config.load(), policy=FAST)
    assert not [p for p in paths.checkpoints_dir().glob("fashionpedia-r50-fpn*") if p.suffix != ".lock"]


def test_the_same_file_from_another_url_says_nothing(server, tmp_path):
    body = build_maskrcnn_like(tmp_path / "real.onnx").read_bytes()
    server.serve("/mirror/facere_base.onnx", body, linked_sha256=hashlib.sha256(body).hexdigest())
    paths.config_file().write_text(f'[models.facere]\nurl = "{server.url("/mirror/facere_base.onnx")}"\n')
    model = official("facere", "https://huggingface.co/rizavelioglu/fashionfail/resolve/main/facere_base.onnx",
                     size=len(body))
    settings = config.load()
    fetch_model(model, settings, policy=FAST)
    assert paper_checkpoint(model, settings).paper is None


def test_a_half_megabyte_stand_in_imported_as_facere_and_facere_plus_is_not_the_papers(tmp_path, capsys):
    stand_in = build_maskrcnn_like(tmp_path / "stand-in.onnx")
    assert stand_in.stat().st_size < 600_000
    for name in ("facere", "facere+"):
        assert main(["fetch", name, "--from", str(stand_in)]) == 0  # a warning, not a refusal
        out, err = capsys.readouterr()
        assert out.startswith(f"{name}: ")
        assert f"{name}: warning: not the paper's checkpoint ({catalog.get(name).weights.filename} is " in err
        assert "the paper's is about 18" in err
    assert main(["doctor", "facere", "facere+"]) == 0
    out = capsys.readouterr().out
    assert out.count("warning: not the paper's checkpoint") == 2


def test_a_checkpoint_without_a_known_size_or_statement_is_unknown(tmp_path):
    model = catalog.get("fformer-r50-fpn")
    settings = config.load()
    fetch_model(dataclasses.replace(model, source=None), settings,
                source_file=torch_zip(tmp_path / "fashionformer_r50_3x.pth"))
    check = paper_checkpoint(model, settings)
    assert check.paper is None and check.warning is None
