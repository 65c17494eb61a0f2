"""The six models of the FashionFail comparison, as data (facts from shared/docs/MODELS.md).

Everything else (downloads, environments, runners, the browser, evaluation) reads the models
from here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.errors import UserError, did_you_mean

# Fashionpedia's 46 categories, ids 0..45. FashionFail uses 0..26.
CATEGORIES: tuple[str, ...] = (
    "shirt, blouse", "top, t-shirt, sweatshirt", "sweater", "cardigan", "jacket", "vest",
    "pants", "shorts", "skirt",
    "coat", "dress", "jumpsuit", "cape",
    "glasses", "hat", "headband, head covering, hair accessory",
    "tie", "glove", "watch", "belt",
    "leg warmer", "tights, stockings", "sock", "shoe",
    "bag, wallet", "scarf", "umbrella",
    "hood", "collar", "lapel", "epaulette", "sleeve", "pocket", "neckline",
    "buckle", "zipper",
    "applique", "bead", "bow", "flower", "fringe", "ribbon", "rivet", "ruffle", "sequin", "tassel",
)
FASHIONFAIL_CATEGORY_IDS: tuple[int, ...] = tuple(range(27))
# The paper weights 22 of the 27 FashionFail categories: all but sweater, cape, tie, belt, leg warmer.
UNWEIGHTED_CATEGORY_IDS: frozenset[int] = frozenset({2, 12, 16, 19, 20})
WEIGHTED_CATEGORY_IDS: tuple[int, ...] = tuple(c for c in FASHIONFAIL_CATEGORY_IDS if c not in UNWEIGHTED_CATEGORY_IDS)


@dataclass(frozen=True)
class ClassIds:
    """How a family's class numbers map to Fashionpedia category ids."""

    name: str
    description: str
    table: tuple[int, ...]
    """table[class_number - offset] is the category id."""
    offset: int

    def category_of(self, class_number: int) -> int:
        index = int(class_number) - self.offset
        if not 0 <= index < len(self.table):
            raise ValueError(f"class {class_number} is outside {self.name} ({self.description})")
        return self.table[index]

    @property
    def class_range(self) -> tuple[int, int]:
        return self.offset, self.offset + len(self.table) - 1


FASHIONPEDIA_1BASED = ClassIds("fashionpedia-1based", "classes 1..46, category = class - 1", tuple(range(46)), 1)
FASHIONPEDIA_0BASED = ClassIds("fashionpedia-0based", "classes 0..45, category = class", tuple(range(46)), 0)
FASHIONFAIL_1BASED = ClassIds(
    "fashionfail-1based",
    "classes 1..22, category = the class-th of the 22 weighted FashionFail categories",
    WEIGHTED_CATEGORY_IDS,
    1,
)
CLASS_IDS = {c.name: c for c in (FASHIONPEDIA_1BASED, FASHIONPEDIA_0BASED, FASHIONFAIL_1BASED)}


@dataclass(frozen=True)
class Artifact:
    """One file a model needs, and where it comes from."""

    filename: str
    url: str | None
    """None: no direct link; the user downloads it by hand (see `manual_from`)."""
    kind: str = "file"
    """file: stored as is; tar: a .tar.gz unpacked into `unpacks_to`; manual: imported by the user."""
    sha256: str | None = None
    size: int | None = None
    """Approximate size in bytes, for disk-space checks; None when unknown."""
    unpacks_to: str | None = None
    expected_files: tuple[str, ...] = ()
    manual_from: str | None = None


@dataclass(frozen=True)
class SourceTree:
    name: str
    url: str
    commit: str | None
    """A pinned commit; None means the default branch's head at clone time."""


@dataclass(frozen=True)
class Model:
    name: str
    aliases: tuple[str, ...]
    family: str
    """amrcnn | fformer | facere: decides runner, environment and output conventions."""
    title: str
    backbone: str
    environment: str | None
    """The conda environment family it runs in; None runs in the app's own interpreter."""
    weights: Artifact
    runner: str
    """Script name under runners/."""
    box_format: str
    """Box layout in the original script's output: yxyx or xyxy."""
    class_ids: ClassIds
    score_threshold: float
    source: SourceTree | None = None
    config: str | None = None
    """Model config inside the source tree."""
    notes: str = ""

    @property
    def checkpoint_relpath(self) -> str:
        """What the runner is given, relative to the checkpoints dir."""
        if self.weights.kind == "tar":
            return f"{self.weights.unpacks_to}/model.ckpt"
        return self.weights.filename


TPU = SourceTree("tpu", "https://github.com/jangop/tpu.git", "85b65b648b0aefbf30cd65fe674d7607f3caf2e3")
# 0752737 is the commit the runner was checked against (byte-identical to the original predict_fformer.py).
FASHIONFORMER = SourceTree("FashionFormer", "https://github.com/xushilin1/FashionFormer.git",
                           "0752737bb1e071ebd03315a1c5e8a62ab2573620")
_GCS = "https://storage.googleapis.com/cloud-tpu-checkpoints/detection/projects/fashionpedia"
_HF = "https://huggingface.co/rizavelioglu/fashionfail/resolve/main"
_ONEDRIVE = "https://1drv.ms/u/s!Ai4mxaXd6lVBcAWlLG9x3sx8cKY?e=cBZdNy"
_CKPT_FILES = ("checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta")


def _amrcnn(name: str, backbone: str, stem: str, config: str) -> Model:
    return Model(
        name=name, aliases=(), family="amrcnn", title=f"Attribute Mask R-CNN, {backbone}",
        backbone=backbone, environment="amrcnn",
        weights=Artifact(f"{stem}.tar.gz", f"{_GCS}/{stem}.tar.gz", kind="tar",
                         unpacks_to=stem, expected_files=_CKPT_FILES),
        runner="amrcnn.py", box_format="yxyx", class_ids=FASHIONPEDIA_1BASED, score_threshold=0.05,
        source=TPU, config=f"models/official/detection/projects/fashionpedia/configs/yaml/{config}",
    )


def _fformer(name: str, backbone: str, filename: str, config: str) -> Model:
    return Model(
        name=name, aliases=(), family="fformer", title=f"FashionFormer, {backbone}",
        backbone=backbone, environment="fformer",
        weights=Artifact(filename, None, kind="manual", manual_from=_ONEDRIVE),
        runner="fformer.py", box_format="xyxy", class_ids=FASHIONPEDIA_0BASED, score_threshold=0.05,
        source=FASHIONFORMER, config=f"configs/fashionformer/fashionpedia/{config}",
        notes="Boxes are computed from the masks: the model's own boxes are all zeros.",
    )


MODELS: tuple[Model, ...] = (
    _amrcnn("amrcnn-spine", "SpineNet-143", "fashionpedia-spinenet-143", "spinenet143_amrcnn.yaml"),
    _amrcnn("amrcnn-r50-fpn", "ResNet50-FPN", "fashionpedia-r50-fpn", "r50fpn_amrcnn.yaml"),
    # There is no swin _3x config; the swin checkpoint is still named ..._3x.pth.
    _fformer("fformer-swin", "Swin-base", "fashionformer_swin_b_3x.pth", "fashionformer_swin_b_mlvl_feat_6x.py"),
    _fformer("fformer-r50-fpn", "ResNet50-FPN", "fashionformer_r50_3x.pth", "fashionformer_r50_mlvl_feat_3x.py"),
    Model(
        name="facere", aliases=(), family="facere", title="Facere (Mask R-CNN, ONNX)",
        backbone="ResNet50-FPN", environment=None,
        weights=Artifact("facere_base.onnx", f"{_HF}/facere_base.onnx", size=185_000_000),
        runner="facere.py", box_format="yxyx", class_ids=FASHIONPEDIA_1BASED,
        # torchvision's 0.05 box score threshold is inside the exported graph; the runner keeps all it returns.
        score_threshold=0.0,
    ),
    Model(
        name="facere+", aliases=("facere-plus", "facere_plus"), family="facere",
        title="Facere+ (fine-tuned on FashionFail-train, ONNX)",
        backbone="ResNet50-FPN", environment=None,
        weights=Artifact("facere_plus.onnx", f"{_HF}/facere_plus.onnx", size=184_000_000),
        runner="facere.py", box_format="yxyx", class_ids=FASHIONFAIL_1BASED, score_threshold=0.0,
    ),
)
_BY_NAME = {alias: m for m in MODELS for alias in (m.name, *m.aliases)}
FAMILIES = ("amrcnn", "fformer", "facere")


def names() -> list[str]:
    return [m.name for m in MODELS]


def get(name: str) -> Model:
    """A model by name or alias; UserError naming the known ones otherwise."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise UserError(f"unknown model '{name}'{did_you_mean(name, _BY_NAME)}; known models: {', '.join(names())}") \
            from None


def family_models(family: str) -> list[Model]:
    return [m for m in MODELS if m.family == family]


def category_name(category_id: int) -> str:
    return CATEGORIES[category_id] if 0 <= category_id < len(CATEGORIES) else f"category {category_id}"

