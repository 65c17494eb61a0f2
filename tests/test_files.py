"""tui/files.py: the one atomic replace every writer of whole files uses (text or bytes, durable or not)."""

import threading

import pytest

from tui.files import replaced_atomically, write_atomically


@pytest.mark.parametrize("data", ["näive text\n", b"\x00\xffbytes"])
@pytest.mark.parametrize("durable", [False, True])
def test_the_new_content_replaces_the_old_and_no_temporary_file_stays(tmp_path, data, durable):
    target = tmp_path / "record.json"
    target.write_bytes(b"old")
    write_atomically(target, data, durable=durable)
    assert (target.read_bytes() if isinstance(data, bytes) else target.read_text(encoding="utf-8")) == data
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_an_error_inside_the_block_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("old")
    with pytest.raises(ValueError), replaced_atomically(target) as handle:
        handle.write("half of the new")
        raise ValueError("the writer failed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_the_temporary_file_is_named_by_the_handle_so_a_writer_can_check_it_before_the_rename(tmp_path):
    target = tmp_path / "config.toml"
    with replaced_atomically(target, newline="") as handle:
        handle.write("a = 1\r\n")
        handle.flush()
        assert open(handle.name, "rb").read() == b"a = 1\r\n" and not target.exists()
    assert target.read_bytes() == b"a = 1\r\n"


def test_threads_replacing_the_same_file_at_once_each_write_their_own_temporary_file(tmp_path):
    target = tmp_path / "index.npz"
    payloads = [bytes([n]) * 2_000_000 for n in range(8)]
    start, errors = threading.Barrier(len(payloads)), []

    def write(payload: bytes) -> None:
        start.wait()
        try:
            write_atomically(target, payload)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["index.npz"]
