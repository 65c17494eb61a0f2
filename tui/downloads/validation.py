"""Is a model file what its model loads? Checked before a run starts and when a file is imported."""

from __future__ import annotations

from pathlib import Path

from tui.catalog import Model
from tui.downloads.manual_import import checkpoint_format
from tui.errors import UserError, require_file


def validate_model_file(model: Model, path: Path) -> None:
    """UserError unless `path` exists and (for ONNX models) loads as an ONNX model with Facere's I/O."""
    require_file(path, "model file")
    if model.weights.kind == "manual":
        checkpoint_format(path)  # a PyTorch checkpoint by its structure, never unpickled
        return
    if model.family != "facere":
        return
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError, or others, for a non-ONNX file
        raise UserError(f"model file {path} is not a valid ONNX model ({type(exc).__name__})") from None
    inputs = [i for i in proto.graph.input if i.name not in {t.name for t in proto.graph.initializer}]
    if len(inputs) != 1 or len(proto.graph.output) < 4:
        raise UserError(f"model file {path} does not look like a Facere model: it needs one image input "
                        f"and four outputs (boxes, labels, scores, masks), it has {len(inputs)} and "
                        f"{len(proto.graph.output)}")
