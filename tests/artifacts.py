"""Small stand-ins for the real artifacts: checkpoint tarballs and PyTorch checkpoint files."""

import io
import pickle
import tarfile
import zipfile

from tui import catalog

EXPECTED = catalog.get("amrcnn-r50-fpn").weights.expected_files


def make_tar(path, members):
    """members: (TarInfo fields, bytes or None) pairs."""
    with tarfile.open(path, "w:gz") as tar:
        for fields, data in members:
            info = tarfile.TarInfo(fields.pop("name"))
            for key, value in fields.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def checkpoint_members(folder="fashionpedia-r50-fpn"):
    return [({"name": f"{folder}/{name}"}, f"{name} bytes".encode()) for name in EXPECTED]


def torch_zip(path, folder="archive"):
    """The layout torch.save (>= 1.6) writes: folder/data.pkl, folder/version, folder/data/N."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/data.pkl", pickle.dumps({"state_dict": {}}, protocol=2))
        archive.writestr(f"{folder}/version", "3\n")
        archive.writestr(f"{folder}/data/0", b"\x00" * 64)
    return path
