"""Manual imports of FashionFormer checkpoints: recognised by structure, never unpickled."""

import hashlib
import pickle
import zipfile

import pytest
from artifacts import torch_zip
from gitrepos import commit

from tests.helpers.onnx_models import build_maskrcnn_like

from tui import catalog, config, paths
from tui.downloads import CheckpointNeeded, fetch_model, model_files_state
from tui.downloads.manual_import import checkpoint_format
from tui.errors import UserError

SWIN = catalog.get("fformer-swin")


def torch_legacy(path, protocol=2):
    """torch's legacy format starts with the pickled magic number, then more pickles and raw storage."""
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=protocol) + pickle.dumps(1001) + b"\x00" * 64)
    return path


class Exploding:
    """Unpickling this creates a file: proof that something ran the pickle."""

    def __init__(self, witness):
        self.witness = str(witness)

    def __reduce__(self):
        return (open, (self.witness, "w"))


@pytest.mark.parametrize("make, expected", [
    (lambda p: torch_zip(p), "zip"),
    (lambda p: torch_zip(p, folder="fashionformer_swin_b_3x"), "zip"),
    (lambda p: torch_legacy(p), "legacy"),
    (lambda p: torch_legacy(p, protocol=4), "legacy"),
])
def test_pytorch_checkpoints_are_recognised_in_both_formats(tmp_path, make, expected):
    assert checkpoint_format(make(tmp_path / "c.pth")) == expected


@pytest.mark.parametrize("content, message", [
    (b"<!DOCTYPE html><html><title>OneDrive</title>", "web page"),
    (b"\x80\x02K\x01.", "not a PyTorch checkpoint"),
    (b"just text", "not a PyTorch checkpoint"),
    (b"PK\x03\x04 broken zip", "damaged zip"),
])
def test_other_files_are_refused_with_what_they_are(tmp_path, content, message):
    path = tmp_path / "c.pth"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        checkpoint_format(path)


def test_a_zip_that_is_not_a_checkpoint_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "c.pth", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(UserError, match=r"no \*/data.pkl"):
        checkpoint_format(tmp_path / "c.pth")


def test_the_check_never_runs_the_pickle(tmp_path):
    path = tmp_path / "c.pth"
    witness = tmp_path / "unpickled"
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(Exploding(witness)))
    assert checkpoint_format(path) == "legacy"
    assert not witness.exists()


def test_fetch_without_a_file_fetches_the_tree_and_says_where_to_get_the_checkpoint(tmp_path):
    pin = commit(tmp_path / "FashionFormer", {"README.md": "FashionFormer"})
    paths.config_file().write_text(f'[sources.FashionFormer]\nurl = "{tmp_path / "FashionFormer"}"\ncommit = "{pin}"\n')
    with pytest.raises(CheckpointNeeded) as caught:
        fetch_model(SWIN, config.load())
    message = str(caught.value)
    assert "\n" not in message and SWIN.weights.manual_from in message and caught.value.exit_code == 1
    assert "fashionformer_swin_b_3x.pth" in message and "--" not in message  # the command line is the hint's
    assert caught.value.hint == "then import it with: fashionfail-tui fetch fformer-swin --from PATH/fashionformer_swin_b_3x.pth"
    assert (paths.sources_dir() / "FashionFormer" / "README.md").exists()


def test_import_copies_into_place_and_records_the_hash(tmp_path):
    source = torch_zip(tmp_path / "swin.pth")
    pin = commit(tmp_path / "FashionFormer", {"README.md": "FashionFormer"})
    paths.config_file().write_text(f'[sources.FashionFormer]\nurl = "{tmp_path / "FashionFormer"}"\ncommit = "{pin}"\n')
    settings = config.load()
    stored = fetch_model(SWIN, settings, source_file=source)
    assert stored == paths.checkpoints_dir() / "fashionformer_swin_b_3x.pth"
    assert stored.read_bytes() == source.read_bytes()
    state = model_files_state(SWIN, settings)
    assert state.state == "verified" and state.files[0].hash_source == "import"
    assert state.files[0].sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_refused_import_leaves_the_cache_untouched(tmp_path):
    bad = tmp_path / "fashionformer_r50_3x.pth"
    bad.write_bytes(b"<html>OneDrive</html>")
    with pytest.raises(UserError, match="web page"):
        fetch_model(catalog.get("fformer-r50-fpn"), config.load(), source_file=bad)
    assert not paths.checkpoints_dir().exists() or not any(paths.checkpoints_dir().glob("*.pth*"))


def test_facere_imports_an_onnx_file_and_refuses_a_pytorch_one(tmp_path):
    """An air-gapped copy of facere_base.onnx is an ONNX model, not a PyTorch checkpoint."""
    facere = catalog.get("facere")
    source = build_maskrcnn_like(tmp_path / "facere_base.onnx")
    stored = fetch_model(facere, config.load(), source_file=source)
    assert stored.read_bytes() == source.read_bytes()
    assert model_files_state(facere, config.load()).files[0].hash_source == "import"
    with pytest.raises(UserError, match="is not a valid ONNX model"):
        fetch_model(catalog.get("facere+"), config.load(), source_file=torch_zip(tmp_path / "plus.pth"))
    assert not (paths.checkpoints_dir() / "facere_plus.onnx").exists()
