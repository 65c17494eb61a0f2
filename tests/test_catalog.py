import pytest

from tui import catalog
from tui.errors import UserError


def test_six_models_with_their_aliases():
    assert catalog.names() == ["amrcnn-spine", "amrcnn-r50-fpn", "fformer-swin", "fformer-r50-fpn", "facere", "facere+"]
    for alias in ("facere-plus", "facere_plus", "FACERE+", " facere+ "):
        assert catalog.get(alias).name == "facere+"


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UserError, match="unknown model 'yolo'.*facere\\+"):
        catalog.get("yolo")


def test_fashionpedia_categories():
    assert len(catalog.CATEGORIES) == 46
    assert catalog.CATEGORIES[0] == "shirt, blouse"
    assert catalog.CATEGORIES[23] == "shoe"
    assert catalog.CATEGORIES[45] == "tassel"
    assert len(catalog.WEIGHTED_CATEGORY_IDS) == 22


@pytest.mark.parametrize(
    "name, class_number, category",
    [
        ("amrcnn-spine", 1, 0), ("amrcnn-spine", 46, 45),
        ("fformer-swin", 0, 0), ("fformer-swin", 45, 45),
        ("facere", 24, 23),
        # facere+: sorted({0..26} - {2,12,16,19,20})[class - 1]
        ("facere+", 1, 0), ("facere+", 2, 1), ("facere+", 3, 3), ("facere+", 11, 11), ("facere+", 12, 13), ("facere+", 22, 26),
    ],
)
def test_class_numbers_map_to_categories(name, class_number, category):
    assert catalog.get(name).class_ids.category_of(class_number) == category


def test_class_out_of_range_is_refused():
    with pytest.raises(ValueError):
        catalog.get("facere+").class_ids.category_of(23)
    with pytest.raises(ValueError):
        catalog.get("facere").class_ids.category_of(0)


def test_where_weights_come_from():
    spine = catalog.get("amrcnn-spine")
    assert spine.weights.kind == "tar" and spine.weights.url.endswith("fashionpedia-spinenet-143.tar.gz")
    assert spine.checkpoint_relpath == "fashionpedia-spinenet-143/model.ckpt"
    assert spine.source.commit == "85b65b648b0aefbf30cd65fe674d7607f3caf2e3"
    swin = catalog.get("fformer-swin")
    assert swin.source.commit == "0752737bb1e071ebd03315a1c5e8a62ab2573620"  # two users get the same code
    assert swin.weights.url is None and swin.weights.manual_from.startswith("https://1drv.ms/")
    assert swin.config.endswith("fashionformer_swin_b_mlvl_feat_6x.py")
    assert catalog.get("facere").weights.url.endswith("/facere_base.onnx")
    assert [m.box_format for m in catalog.MODELS] == ["yxyx", "yxyx", "xyxy", "xyxy", "yxyx", "yxyx"]
