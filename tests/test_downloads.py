"""Downloads against a real HTTP server on 127.0.0.1 (tests/fileserver.py), catalog URLs pointed
at it through the config file."""

import hashlib
import json
import os
import socket

import pytest
from fileserver import FileServer

from tui import catalog, config, paths
from tui.downloads import Policy, fetch_model, model_files_state
from tui.downloads.http import download
from tui.downloads.locks import locked
from tui.errors import UserError
from tui.setup.readiness import readiness

FAST = Policy(connect_timeout=2, read_timeout=5, retries=2, backoff=0.01)
ONNX = bytes(range(256)) * 40  # 10 KiB stand-in for facere_base.onnx
FACERE = catalog.get("facere")


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def configure(text: str) -> config.Config:
    paths.config_file().write_text(text)
    return config.load()


def point_facere_at(server, path="/facere_base.onnx", sha256=None) -> config.Config:
    lines = f'[models.facere]\nurl = "{server.url(path)}"\n'
    if sha256:
        lines += f'sha256 = "{sha256}"\n'
    return configure(lines)


def target() -> os.PathLike:
    return paths.checkpoints_dir() / "facere_base.onnx"


def leftovers():
    return sorted(p.name for p in paths.checkpoints_dir().iterdir() if not p.name.endswith(".lock")
                  and p.name != "manifest.json")


def test_download_lands_byte_identical_and_is_recorded_as_verified(server):
    server.serve("/facere_base.onnx", ONNX)
    settings = point_facere_at(server)
    events = []
    path = fetch_model(FACERE, settings, events.append, policy=FAST)
    assert path == target() and path.read_bytes() == ONNX
    state = model_files_state(FACERE, settings)
    assert state.state == "verified" and state.files[0].sha256 == hashlib.sha256(ONNX).hexdigest()
    assert state.files[0].hash_source == "first-download"
    assert readiness(FACERE, settings).ready
    downloads = [e for e in events if e.stage == "download"]
    assert downloads[-1].done == downloads[-1].total == len(ONNX)
    assert leftovers() == ["facere_base.onnx"]
    # a second fetch finds the verified file and asks the server for nothing
    fetch_model(FACERE, settings, policy=FAST)
    assert len(server.requests_for("/facere_base.onnx")) == 1


def interrupted_fetch(server, after: int) -> config.Config:
    """A fetch whose connection drops after `after` bytes, with no retry: leaves a partial file."""
    server.serve("/facere_base.onnx", ONNX, faults=[f"drop:{after}"])
    settings = point_facere_at(server)
    with pytest.raises(UserError, match="connection"):
        fetch_model(FACERE, settings, policy=Policy(retries=0))
    return settings


def test_interrupted_download_resumes_with_a_range_request_for_the_remainder(server):
    settings = interrupted_fetch(server, 3000)
    served = server.files["/facere_base.onnx"]
    state = model_files_state(FACERE, settings)
    assert state.state == "partial" and state.files[0].size == 3000 and not target().exists()

    fetch_model(FACERE, settings, policy=FAST)
    assert target().read_bytes() == ONNX
    resumed = server.requests_for("/facere_base.onnx")[-1]
    assert resumed["range"] == "bytes=3000-" and resumed["if-range"] == served.etag
    assert leftovers() == ["facere_base.onnx"]


def test_a_dropped_connection_is_retried_and_resumed_within_one_fetch(server):
    server.serve("/facere_base.onnx", ONNX, faults=["drop:1024", "drop:2048"])
    fetch_model(FACERE, point_facere_at(server), policy=FAST)
    assert target().read_bytes() == ONNX
    ranges = [h.get("range") for h in server.requests_for("/facere_base.onnx")]
    assert ranges == [None, "bytes=1024-", "bytes=3072-"]


def test_a_server_that_ignores_range_restarts_cleanly(server):
    server.serve("/facere_base.onnx", ONNX, faults=["drop:5000"], ignore_range=True)
    fetch_model(FACERE, point_facere_at(server), policy=FAST)
    assert target().read_bytes() == ONNX
    assert server.requests_for("/facere_base.onnx")[-1]["range"] == "bytes=5000-"


def test_a_file_changed_between_attempts_is_downloaded_anew(server):
    settings = interrupted_fetch(server, 4000)
    newer = ONNX[::-1]
    server.serve("/facere_base.onnx", newer)
    fetch_model(FACERE, settings, policy=FAST)
    assert target().read_bytes() == newer


def test_a_resume_answered_from_a_changed_file_is_caught_by_the_saved_etag(server):
    settings = interrupted_fetch(server, 4000)
    newer = ONNX[::-1]
    server.serve("/facere_base.onnx", newer, ignore_if_range=True)  # sends 206 with the new file's bytes
    fetch_model(FACERE, settings, policy=FAST)
    assert target().read_bytes() == newer
    assert [h.get("range") for h in server.requests_for("/facere_base.onnx")] == [None, "bytes=4000-", None]


def test_wrong_bytes_against_the_configured_hash_are_rejected_and_removed(server):
    server.serve("/facere_base.onnx", ONNX, corrupt=True)
    settings = point_facere_at(server, sha256=hashlib.sha256(ONNX).hexdigest())
    with pytest.raises(UserError, match="hash mismatch for facere_base.onnx.*deleted"):
        fetch_model(FACERE, settings, policy=FAST)
    assert leftovers() == []
    assert model_files_state(FACERE, settings).state == "missing"


def test_hugging_face_linked_etag_is_the_hash_when_none_is_configured(server):
    good = hashlib.sha256(ONNX).hexdigest()
    server.serve("/resolve/facere_base.onnx", ONNX, corrupt=True, linked_sha256=good)
    settings = point_facere_at(server, "/resolve/facere_base.onnx")
    with pytest.raises(UserError, match=f"expected sha256 {good}"):
        fetch_model(FACERE, settings, policy=FAST)
    assert leftovers() == []
    server.serve("/resolve/facere_base.onnx", ONNX, linked_sha256=good)
    fetch_model(FACERE, settings, policy=FAST)
    assert model_files_state(FACERE, settings).files[0].hash_source == "server"


def test_first_download_hash_is_checked_on_a_later_download(server):
    server.serve("/facere_base.onnx", ONNX)
    settings = point_facere_at(server)
    fetch_model(FACERE, settings, policy=FAST)
    target().unlink()
    server.serve("/facere_base.onnx", ONNX[:-1] + b"!")
    with pytest.raises(UserError, match="hash mismatch"):
        fetch_model(FACERE, settings, policy=FAST)
    assert not target().exists()


def test_redirects_are_followed(server):
    server.serve("/new/facere_base.onnx", ONNX)
    server.redirects["/old"] = "/new/facere_base.onnx"
    fetch_model(FACERE, point_facere_at(server, "/old"), policy=FAST)
    assert target().read_bytes() == ONNX


def test_404_names_the_url_and_is_not_retried(server):
    settings = point_facere_at(server, "/nope.onnx")
    with pytest.raises(UserError, match=r"HTTP 404 Not Found for http://127\.0\.0\.1:\d+/nope\.onnx"):
        fetch_model(FACERE, settings, policy=FAST)
    assert len(server.requests_for("/nope.onnx")) == 1


def test_500_is_retried_with_backoff_then_reported(server):
    server.serve("/facere_base.onnx", ONNX, faults=["500"] * 3)
    settings = point_facere_at(server)
    said = []
    with pytest.raises(UserError, match="after 3 attempts: HTTP 500"):
        fetch_model(FACERE, settings, lambda p: p.message and said.append(p.message), policy=FAST)
    assert len(server.requests_for("/facere_base.onnx")) == 3
    assert [m.split(": ")[0] for m in said] == ["retry 1 of 2 in 0.01 s", "retry 2 of 2 in 0.02 s"]
    assert all("HTTP 500" in m and "restart" not in m for m in said)
    server.serve("/facere_base.onnx", ONNX, faults=["500"])
    fetch_model(FACERE, settings, policy=FAST)  # one 500, then it works
    assert target().read_bytes() == ONNX


def test_unreachable_host_says_so():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = configure(f'[models.facere]\nurl = "http://127.0.0.1:{port}/f.onnx"\n')
    with pytest.raises(UserError, match=f"cannot reach 127.0.0.1:{port}"):
        fetch_model(FACERE, settings, policy=FAST)


def test_disk_full_is_one_line_and_leaves_nothing_in_place(server, tmp_path):
    """The partial file is a symlink to /dev/full, so writing it fails with a real ENOSPC."""
    server.serve("/facere_base.onnx", ONNX)
    point_facere_at(server)
    part = target().with_name("facere_base.onnx.part")
    part.parent.mkdir(parents=True)
    part.symlink_to("/dev/full")
    part.with_name(part.name + ".json").write_text(json.dumps({"url": server.url("/facere_base.onnx")}))
    with pytest.raises(UserError, match="disk full while writing"):
        download(server.url("/facere_base.onnx"), target(), policy=FAST)
    assert not target().exists()


def test_progress_reports_rate_and_eta(server):
    server.serve("/slow.bin", ONNX, delay=0.05)
    events = []
    download(server.url("/slow.bin"), paths.checkpoints_dir() / "slow.bin", policy=FAST, on_progress=events.append)
    middle = [e for e in events if e.stage == "download" and 0 < e.done < len(ONNX)]
    assert middle and all(e.total == len(ONNX) and e.rate > 0 and e.eta >= 0 for e in middle)


def test_a_held_lock_shows_as_downloading_and_a_config_file_as_external(server, tmp_path):
    settings = interrupted_fetch(server, 2000)
    with locked(target()):
        state = model_files_state(FACERE, settings).files[0]
        assert (state.state, state.size) == ("downloading", 2000)
    mine = tmp_path / "my_facere.onnx"
    mine.write_bytes(ONNX)
    settings = configure(f'[models.facere]\nfile = "{mine}"\n')
    assert model_files_state(FACERE, settings).state == "external"
    assert fetch_model(FACERE, settings) == mine and readiness(FACERE, settings).ready


# ---- bodies whose length cannot be checked, credentials in urls, redirects off http ----------

def test_a_body_without_length_cut_short_is_retried_against_the_known_hash(server):
    """No Content-Length: the dropped connection ends the body. The pinned hash shows it is short."""
    server.serve("/facere_base.onnx", ONNX, no_length=True, faults=["drop:3000"])
    settings = point_facere_at(server, sha256=hashlib.sha256(ONNX).hexdigest())
    fetch_model(FACERE, settings, policy=FAST)
    assert target().read_bytes() == ONNX
    assert len(server.requests_for("/facere_base.onnx")) == 2


def test_a_body_without_length_always_cut_short_fails_and_leaves_nothing(server):
    server.serve("/facere_base.onnx", ONNX, no_length=True, faults=["drop:3000"] * 3)
    settings = point_facere_at(server, sha256=hashlib.sha256(ONNX).hexdigest())
    with pytest.raises(UserError, match="after 3 attempts: .*3000 bytes.*do not match"):
        fetch_model(FACERE, settings, policy=FAST)
    assert leftovers() == [] and model_files_state(FACERE, settings).state == "missing"


def test_a_body_without_length_and_without_any_known_hash_is_refused(server):
    """Nothing can tell 3000 bytes cut short from a whole file: it must not become the model."""
    server.serve("/facere_base.onnx", ONNX, no_length=True, faults=["drop:3000"])
    settings = point_facere_at(server)
    with pytest.raises(UserError, match="no Content-Length.*no sha256 is known"):
        fetch_model(FACERE, settings, policy=FAST)
    assert leftovers() == [] and model_files_state(FACERE, settings).state == "missing"
    assert len(server.requests_for("/facere_base.onnx")) == 1


def test_a_body_without_length_is_accepted_when_the_servers_hash_matches(server):
    good = hashlib.sha256(ONNX).hexdigest()
    server.serve("/resolve/facere_base.onnx", ONNX, no_length=True, linked_sha256=good)
    settings = point_facere_at(server, "/resolve/facere_base.onnx")
    fetch_model(FACERE, settings, policy=FAST)
    assert target().read_bytes() == ONNX


@pytest.mark.parametrize("scheme_target", ["file:///etc/passwd", "ftp://127.0.0.1/facere_base.onnx",
                                           "gopher://127.0.0.1/x"])
def test_a_redirect_off_http_is_refused_at_once(server, scheme_target):
    server.redirects["/facere_base.onnx"] = scheme_target
    settings = point_facere_at(server)
    with pytest.raises(UserError, match=r"refusing the redirect .* to (file|ftp|gopher)://.*only http"):
        fetch_model(FACERE, settings, policy=FAST)
    assert len(server.requests_for("/facere_base.onnx")) == 1
    assert leftovers() == []


def test_credentials_in_a_url_never_reach_errors_events_or_files(server, capsys):
    """A 404, a redirect to a url with other credentials, an unreachable host (retried) and a good
    download: 'hunter2' appears nowhere the user or the cache can see."""
    from tui.commands import main

    def with_credentials(url):
        return url.replace("://", "://alice:hunter2@")

    server.serve("/facere_base.onnx", ONNX)
    server.redirects["/moved.onnx"] = "ftp://ftpuser:hunter2@127.0.0.1/x"
    seen = []
    for path in ("/gone.onnx", "/moved.onnx"):
        configure(f'[models.facere]\nurl = "{with_credentials(server.url(path))}"\n')
        assert main(["fetch", "facere", "--json"]) == 2
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        assert captured.err.count("\n") == 1 and "://***@127.0.0.1" in captured.err
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    events = []
    with pytest.raises(UserError) as refused:
        fetch_model(FACERE, configure(f'[models.facere]\nurl = "http://alice:hunter2@127.0.0.1:{closed}/f"\n'),
                    events.append, policy=FAST)
    seen += [str(refused.value), *(event.message for event in events)]
    configure(f'[models.facere]\nurl = "{with_credentials(server.url("/facere_base.onnx"))}"\n')
    assert main(["fetch", "facere", "--json"]) == 0
    seen.append("".join(capsys.readouterr()))
    assert server.requests_for("/facere_base.onnx")[-1]["authorization"].startswith("Basic ")
    seen += [p.read_text(errors="replace") for p in paths.cache_dir().rglob("*") if p.is_file() and p != target()]
    assert not [text for text in seen if "hunter2" in text]
    assert "http://***@127.0.0.1" in json.loads((paths.checkpoints_dir() / "manifest.json").read_text()).__str__()


@pytest.mark.parametrize("text, shown", [
    ("HTTP 404 for https://alice:s3cret@host/x.onnx", "HTTP 404 for https://***@host/x.onnx"),
    ("from http://token@mirror:8080/a and ftp://u:p@b/c", "from http://***@mirror:8080/a and ftp://***@b/c"),
    ("git@github.com:org/repo.git and https://host/a@b", "git@github.com:org/repo.git and https://host/a@b"),
    ("no url here: a:b@c", "no url here: a:b@c"),
])
def test_redact_hides_url_credentials_only(text, shown):
    from tui.errors import redact

    assert redact(text) == shown and str(UserError(text)) == shown


@pytest.mark.parametrize("fault", ["cut short, no length, no hash", "redirect to file://"])
def test_the_command_refuses_in_one_line_with_exit_2_and_keeps_nothing(server, capsys, fault):
    from tui.commands import main

    if fault == "redirect to file://":
        server.redirects["/facere_base.onnx"] = "file:///etc/passwd"
    else:
        server.serve("/facere_base.onnx", ONNX, no_length=True, faults=["drop:3000"])
    point_facere_at(server)
    assert main(["fetch", "facere"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("fashionfail-tui: error: ") and "Traceback" not in err
    assert err.count("fashionfail-tui: error") == 1 and len(server.requests_for("/facere_base.onnx")) == 1
    assert leftovers() == []
