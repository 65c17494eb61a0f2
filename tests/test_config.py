
import pytest

from tui import config, paths
from tui.errors import UserError


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "fashionfail"
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert paths.cache_dir() == tmp_path / "elsewhere"


def test_relative_folder_overrides_mean_the_folder_they_name_now(monkeypatch, tmp_path):
    """Runners and tools start in other folders: a relative override must not follow them there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(paths.CACHE_ENV, "cache")
    monkeypatch.setenv(paths.DATA_ENV, "../data")
    assert paths.cache_dir() == tmp_path / "cache" and paths.sources_dir() == tmp_path / "cache" / "sources"
    assert paths.data_dir() == tmp_path / ".." / "data" and paths.data_dir().is_absolute()


def test_runners_and_envs_are_found_from_a_checkout():
    assert (paths.runners_dir() / "protocol.py").is_file()
    assert paths.envs_specs_dir().is_dir()


def test_missing_config_means_defaults(tmp_path):
    settings = config.load(tmp_path / "nope.toml")
    assert settings.backend == "auto" and settings.device == "auto" and settings.models == {}
    assert settings.dataset_annotations_url is None and settings.dataset_workers == 8


def test_dataset_section(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text('[dataset]\nannotations_url = "https://mirror.local/ff"\nworkers = 3\n')
    settings = config.load(file)
    assert (settings.dataset_annotations_url, settings.dataset_workers) == ("https://mirror.local/ff", 3)


def test_config_file_from_environment(monkeypatch, tmp_path):
    file = tmp_path / "c.toml"
    file.write_text(f'[models.facere_plus]\nurl = "http://127.0.0.1:8000/f.onnx"\nsha256 = "{"AB" * 32}"\n'
                    '[environments]\nbackend = "embedded"\n[run]\ndevice = "cpu"\n')
    monkeypatch.setenv(paths.CONFIG_ENV, str(file))
    settings = config.load()
    assert settings.override_for("facere+").url == "http://127.0.0.1:8000/f.onnx"
    assert settings.override_for("facere+").sha256 == "ab" * 32
    assert settings.backend == "embedded" and settings.device == "cpu"


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ('[run]\ndevice = "cpu"\nthis is not toml\n', 3, "c.toml:3"),
        ('[run]\ndevice = "tpu"\n', 2, "must be one of auto, cpu, cuda"),
        ('[models.yolo]\nurl = "x"\n', 1, "unknown model 'yolo'"),
        ('[gpu]\ninterval = "fast"\n', 2, "'interval' has the wrong type"),
        ('[gpu]\ninterval = -1\n', 2, "'interval' must be a positive number of seconds"),
        ('[gpu]\nhistory = 0\n', 2, "'history' must be a positive number of seconds"),
        ('models = 3\n', 1, "'models' must be a table"),
        ('[models.facere]\nurl = "ftp://mirror/facere_base.onnx"\n', 2, "'url' must be an http:// or https:// URL"),
        ('gpu = "yes"\n', 1, "'gpu' must be a table"),
        ('[dataset]\nannotations_url = "file:///srv/ff/"\n', 2, "'annotations_url' must be an http:// or https:// URL"),
        ('[dataset]\n\nworkers = 0\n', 3, "'workers' must be between 1 and 64, not 0"),
        ('[dataset]\nworkers = "8"\n', 2, "'workers' has the wrong type"),
        ('[dataset]\nannotation_url = "http://x/"\n', 2, "unknown key 'annotation_url' in [dataset]"),
    ],
)
def test_broken_config_is_one_line_naming_file_and_line(tmp_path, text, line, fragment):
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(UserError) as caught:
        config.load(file)
    message = str(caught.value)
    assert "\n" not in message and fragment in message and f"c.toml:{line}" in message
