"""Config values are validated when the config is loaded, URLs included, and an error names the line
of the key in its own table (not the first line anywhere that starts with the key's name)."""

from __future__ import annotations

import pytest

from tui import config, paths
from tui.commands import main
from tui.errors import UserError

FACERE_URL = '[models.facere]\nurl = "http://127.0.0.1:8000/facere_base.onnx"\n\n'


def refused_at(tmp_path, text: str, line: int, fragment: str) -> None:
    """Loading `text` is one line naming the file, `line` and `fragment`."""
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(UserError) as caught:
        config.load(file)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"config file {file}:{line}: ") and fragment in message, message


@pytest.mark.parametrize("text, line, fragment", [
    ('[dataset]\nannotations_url = "http://[::1"\n', 2, "'annotations_url' is not a valid URL"),
    ('[models.facere]\nurl = "http://[::1"\n', 2, "'url' is not a valid URL"),
    ('[models.facere]\nurl = "https://exa mple.com/x.onnx"\n', 2, "'url' is not a valid URL"),
    ('[models.facere]\nurl = "http:///facere.onnx"\n', 2, "'url' is not a valid URL"),
    ('[models.facere]\nurl = "http://127.0.0.1:99999/facere.onnx"\n', 2, "'url' is not a valid URL"),
    ('[sources.tpu]\nurl = "https://[github.com/tensorflow/tpu"\n', 2, "'url' is not a valid URL"),
    ('[environments]\nchannels = ["https://[::1/conda-forge"]\n', 2,
     "'channels' holds 'https://[::1/conda-forge', which is not a valid channel URL"),
    ('[environments]\nchannel_alias = "http://[::1"\n', 2, "'channel_alias' is not a valid URL"),
    ('[models.facere]\nsha256 = "abc"\n', 2, "'sha256' must be 64 hex digits"),
    ('[models.facere]\nfile = "/data/a\\u0000b.onnx"\n', 2, "'file' contains a NUL character"),
    ('[environments]\nexecutable = "/opt/conda\\u0000/bin/conda"\n', 2, "'executable' contains a NUL character"),
    ('[envs.fformer]\npython = "/opt/\\u0000/python"\n', 2, "'python' contains a NUL character"),
    ('[environments]\nspecs = ""\n', 2, "'specs' must not be empty"),
    # a pane sampling every 1e-300 s freezes the app; a history of 1e300 s overflows its ring buffer
    ('[gpu]\ninterval = 1e-300\n', 2, "'interval' must be between 0.1 and 3600 seconds"),
    ('[gpu]\nhistory = 1e300\n', 2, "'history' must be between 1 and 86400 seconds"),
])
def test_a_bad_value_is_refused_at_load_naming_its_line(tmp_path, text, line, fragment):
    refused_at(tmp_path, text, line, fragment)


def test_an_invalid_url_in_the_config_is_one_line_in_dataset_fetch_not_a_crash(capsys):
    paths.config_file().write_text('[dataset]\nannotations_url = "http://[::1"\n')
    assert main(["dataset", "fetch"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected" not in err
    assert err.startswith(f"fashionfail-tui: error: config file {paths.config_file()}:2: 'annotations_url' is not")


@pytest.mark.parametrize("text, line, fragment", [
    # the issue's case: a bad url under [sources.tpu], after [models.facere]'s good one
    (FACERE_URL + '[sources.tpu]\nurl = "--upload-pack=touch /tmp/x"\n', 5, "'url' must be a repository url"),
    (FACERE_URL + '[sources.tpu]\nurl = "http://[::1"\n', 5, "'url' is not a valid URL"),
    ('[sources.tpu]\nurl = "file:///srv/tpu"\n\n[models.facere]\n# a comment\nurl = "ftp://x/y.onnx"\n', 6,
     "'url' must be an http:// or https:// URL"),
    ('[models."facere+"]\nurl = "https://a/b.onnx"\n[models.facere]\nsha256 = "abc"\n', 4, "'sha256' must be"),
    ('[envs.amrcnn]\npython = "/opt/a/bin/python"\n\n[envs.fformer]\npython = "relative/python"\n', 5,
     "python must be an absolute path"),
    ('[sources.tpu]\ncommit = "85b65b6"\n[sources.FashionFormer]\n  commit = "zz"\n', 4, "'commit' must be a commit id"),
    ('[gpu]\ninterval = 1.0\n\n[dataset]\n"workers" = 99\n', 5, "'workers' must be between 1 and 64"),
])
def test_a_key_is_reported_at_its_line_in_its_own_table(tmp_path, text, line, fragment):
    refused_at(tmp_path, text, line, fragment)


def test_values_that_are_right_still_load(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text(FACERE_URL + '[sources.tpu]\nurl = "/srv/mirrors/tpu.git"\n'
                    '[sources.FashionFormer]\nurl = "git@github.com:xushilin1/FashionFormer.git"\n'
                    '[environments]\nchannels = ["https://mirror.local/conda-forge", "file:///srv/channel"]\n'
                    'channel_alias = "https://mirror.local/"\n'
                    '[dataset]\nannotations_url = "http://[::1]:8000/ff/"\n')
    loaded = config.load(file)
    assert loaded.dataset_annotations_url == "http://[::1]:8000/ff/"
    assert loaded.source_override_for("FashionFormer").url == "git@github.com:xushilin1/FashionFormer.git"
