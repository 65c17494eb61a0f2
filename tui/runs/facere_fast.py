"""Cut the mask-pasting loop out of an exported Mask R-CNN (Facere) and paste on the host instead.

torchvision's TorchScript-based ONNX export turns `_onnx_paste_masks_in_image_loop` into a `Loop`
that, for every detection, resizes the padded low-resolution mask to its expanded box (`Resize`,
bilinear), crops it to the image, pads it with zeros (`ConstantOfShape` + `Concat`, rows then
columns) into a full-image canvas and appends that canvas to the loop's carried tensor. At
FashionFail's 2400x2400 that loop is most of the run time and its output is 2.3 GB.

`prepare(model_path)` recognises that loop by its structure (node names differ between exports)
and writes, once per model file (cached by its SHA-256):

- `cut.onnx`: the model without the loop; outputs are the original ones before the masks
  followed by every tensor the loop body reads from the outer graph;
- `paste.onnx`: the body's own nodes that compute one detection's crop (the values the loop writes
  into its canvas) and the crop's offsets in the image, with the iteration number as input `index`.

`runner_arguments` hands them to `runners/facere.py` (`--fast-model`, `--paste-model`), which
pastes with `runners/facere_paste.py`. Models without the structure keep the original path;
`plan.json` in the cache records what was found either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from tui import outside_json, paths
from tui.errors import UserError
from tui.files import json_text, replaced_atomically, sha256_of, write_atomically

FORMAT = 2  # 2: plan.json records the SHA-256 of cut.onnx and paste.onnx
INDEX_INPUT = "index"  # runners/facere_paste.py: INDEX_INPUT, PASTE_OUTPUTS
CROP_OUTPUT, TOP_OUTPUT, LEFT_OUTPUT = "crop", "top", "left"
# ops between the loop and the masks output that only reshape (e.g. `[:, None]`)
_RESHAPING = {"Unsqueeze", "Identity", "Reshape", "Squeeze"}
# ops between the canvas concats that keep values in place: `[0:im_h]` slices and dtype casts
_PLACING = {"Slice", "Cast", "Identity"}


@dataclass(frozen=True)
class FastModel:
    """The cached pair for one model file; `runners/facere.py --fast-model --paste-model` runs it."""

    cut_model: Path
    paste_model: Path


@dataclass(frozen=True)
class Analysis:
    """What `prepare` found in one model file, as recorded in its cache's `plan.json`."""

    model_sha256: str
    fast: FastModel | None
    reason: str
    """Why the original path stays, or what was cut."""


class NotPasteLoop(Exception):
    """The graph lacks the mask-pasting structure; the message says what is missing."""


@dataclass(frozen=True)
class _PasteLoop:
    body: onnx.GraphProto
    masks_output: int
    crop: str
    offsets: tuple[tuple[str, int], ...]
    """(shape of the leading zeros, axis) for rows and columns: offset = shape[axis]."""


def cache_dir_for(model_sha256: str) -> Path:
    return paths.cache_dir() / "facere-fast" / model_sha256


def runner_arguments(model_file: Path, original_masks: bool = False) -> list[str]:
    """The Facere runner's mask arguments: the cut pair where the loop was found and not refused,
    and a note the runner logs saying which path the masks take and why."""
    if original_masks:
        return ["--masks-note", "the graph pastes them (--original-masks)"]
    try:
        analysis = prepare(model_file)
    except UserError as error:  # the runner reports the unreadable model itself
        return ["--masks-note", f"the graph pastes them ({error})"]
    except OSError as error:  # the cache cannot be written: the original path still works
        return ["--masks-note", f"the graph pastes them (cannot write {error.filename}: {error.strerror})"]
    if analysis.fast is None:
        return ["--masks-note", f"the graph pastes them: {analysis.reason}"]
    return [
        "--fast-model", str(analysis.fast.cut_model), "--paste-model", str(analysis.fast.paste_model),
        "--masks-note", "pasted per box on the host, the graph's mask-pasting Loop cut out (same masks, faster)",
    ]


def prepare(model_path: Path) -> Analysis:
    """Find the paste loop in `model_path` and build the cut and paste models, or reuse the cache."""
    model_path = Path(model_path)
    try:
        sha256 = sha256_of(model_path)
    except OSError as error:
        raise UserError(f"cannot read the model {model_path}: {error.strerror or error}") from None
    folder = cache_dir_for(sha256)
    plan_file = folder / "plan.json"
    cached = _read_plan(plan_file, sha256)
    if cached is not None:
        return cached
    try:
        model = onnx.load(str(model_path))
    except (OSError, DecodeError) as error:
        raise UserError(f"{model_path} is not an ONNX model ({error})") from None
    try:
        cut, paste = split(model)
    except NotPasteLoop as missing:
        analysis = Analysis(sha256, None, str(missing))
    else:
        folder.mkdir(parents=True, exist_ok=True)
        fast = FastModel(folder / "cut.onnx", folder / "paste.onnx")
        _save_atomically(cut, fast.cut_model)
        _save_atomically(paste, fast.paste_model)
        analysis = Analysis(sha256, fast, "mask-pasting Loop cut out; masks pasted per box on the host")
    folder.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "model_sha256": sha256, "fast": analysis.fast is not None, "reason": analysis.reason}
    if analysis.fast is not None:
        record["files"] = {path.name: sha256_of(path) for path in _cached_files(analysis.fast)}
    write_atomically(plan_file, json_text(record, indent=1))
    return analysis


def _read_plan(plan_file: Path, sha256: str) -> Analysis | None:
    try:
        record = outside_json.read_object(plan_file)
    except (OSError, ValueError):
        return None
    if record.get("format") != FORMAT or record.get("model_sha256") != sha256:
        return None
    if not record.get("fast"):
        return Analysis(sha256, None, str(record.get("reason", "")))
    fast = FastModel(plan_file.parent / "cut.onnx", plan_file.parent / "paste.onnx")
    recorded = record.get("files") or {}
    for path in _cached_files(fast):  # a damaged or half-copied cache is rebuilt, not run
        try:
            if sha256_of(path) != recorded.get(path.name):
                return None
        except OSError:
            return None
    return Analysis(sha256, fast, str(record.get("reason", "")))


def _cached_files(fast: FastModel) -> tuple[Path, Path]:
    return fast.cut_model, fast.paste_model


def _save_atomically(model: onnx.ModelProto, path: Path) -> None:
    """Two runs preparing the same model never share a file: the temporary one is this thread's own."""
    with replaced_atomically(path, binary=True) as handle:
        onnx.save(model, handle)


# --- finding the loop ---------------------------------------------------------------------------


def split(model: onnx.ModelProto) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """The cut model and the paste model; NotPasteLoop when the structure isn't there."""
    graph = model.graph
    found = _find_paste_loop(graph)
    needed_body = _body_slice(found)
    outer_refs = _outer_references(needed_body, found.body)
    constants = _outer_constants(graph)
    tensors = [name for name in outer_refs if name not in constants]
    types = _tensor_types(model)
    missing = [name for name in tensors if name not in types]
    if missing:
        raise NotPasteLoop(f"no type known for {', '.join(missing)}")
    cut = _cut_model(model, found, tensors, types)
    paste = _paste_model(model, found, needed_body, tensors, types, {n: constants[n] for n in outer_refs if n in constants})
    return cut, paste


def _find_paste_loop(graph: onnx.GraphProto) -> _PasteLoop:
    loops = [node for node in graph.node if node.op_type == "Loop"]
    if not loops:
        raise NotPasteLoop("the graph has no Loop node")
    reasons = []
    for loop in loops:
        try:
            return _match_paste_loop(graph, loop)
        except NotPasteLoop as reason:
            reasons.append(str(reason))
    raise NotPasteLoop("no Loop pastes masks: " + "; ".join(reasons))


def _match_paste_loop(graph: onnx.GraphProto, loop: onnx.NodeProto) -> _PasteLoop:
    body = next(a.g for a in loop.attribute if a.name == "body")
    if len(loop.output) != 1 or len(body.input) != 3 or len(body.output) != 2:
        raise NotPasteLoop("a Loop with other than one carried tensor")
    if not any(n.op_type == "Resize" and _attribute(n, "mode", b"nearest") == b"linear" for n in body.node):
        raise NotPasteLoop("a Loop without a bilinear Resize")
    producers = {out: node for node in body.node for out in node.output}
    carried_in, carried_out = body.input[2].name, body.output[1].name
    append = producers.get(carried_out)
    if append is None or append.op_type != "Concat" or _attribute(append, "axis", None) != 0 \
            or list(append.input[:1]) != [carried_in] or len(append.input) != 2:
        raise NotPasteLoop("a Loop that does not append to its carried tensor")
    canvas_node = producers.get(append.input[1])
    if canvas_node is None or canvas_node.op_type != "Unsqueeze":
        raise NotPasteLoop("a Loop that does not append one canvas per iteration")
    value, offsets = canvas_node.input[0], []
    for _ in range(2):
        concat = producers.get(_strip(value, producers, _PLACING))
        zeros = [producers.get(name) for name in concat.input] if concat is not None else []
        if concat is None or concat.op_type != "Concat" or len(zeros) != 3 \
                or not all(z is not None and z.op_type == "ConstantOfShape" and _fills_zero(z) for z in zeros[::2]):
            raise NotPasteLoop("a Loop whose canvas is not the mask padded with zeros")
        offsets.append((zeros[0].input[0], int(_attribute(concat, "axis", 0))))
        value = concat.input[1]
    if sorted(axis for _, axis in offsets) != [0, 1]:
        raise NotPasteLoop("a Loop whose canvas is not padded along rows and columns")
    masks_output = _graph_output_fed_by(graph, loop.output[0])
    return _PasteLoop(body, masks_output, value, tuple(offsets))


def _strip(name: str, producers: dict, ops: set[str]) -> str:
    while name in producers and producers[name].op_type in ops:
        name = producers[name].input[0]
    return name


def _fills_zero(node: onnx.NodeProto) -> bool:
    value = _attribute(node, "value", None)
    return value is None or not numpy_helper.to_array(value).any()


def _attribute(node: onnx.NodeProto, name: str, default):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _graph_output_fed_by(graph: onnx.GraphProto, name: str) -> int:
    """Index of the graph output that is `name` up to reshaping; the value must go nowhere else."""
    outputs = [o.name for o in graph.output]
    while name not in outputs:
        consumers = [n for n in graph.node if name in _node_inputs(n)]
        if len(consumers) != 1 or consumers[0].op_type not in _RESHAPING:
            raise NotPasteLoop("a Loop whose canvases are used for more than the masks output")
        name = consumers[0].output[0]
    index = outputs.index(name)
    if index != len(outputs) - 1:
        raise NotPasteLoop("the pasted masks are not the last output")
    return index


# --- building the two models ----------------------------------------------------------------------


def _node_inputs(node: onnx.NodeProto) -> list[str]:
    """A node's inputs, then the outer names its subgraphs read, each once, in order."""
    names = dict.fromkeys(name for name in node.input if name)
    for attribute in node.attribute:
        for subgraph in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
            names.update(dict.fromkeys(_outer_references(list(subgraph.node), subgraph)))
    return list(names)


def _outer_references(nodes: list[onnx.NodeProto], graph: onnx.GraphProto) -> list[str]:
    """Names `nodes` read that `graph` neither produces nor takes as input or initializer, in first-use order."""
    local = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    local |= {out for node in graph.node for out in node.output}
    return list(dict.fromkeys(name for node in nodes for name in _node_inputs(node) if name not in local))


def _backward_slice(graph: onnx.GraphProto, wanted: list[str]) -> list[onnx.NodeProto]:
    """The nodes of `graph` that the `wanted` values depend on, in graph order."""
    producers = {out: node for node in graph.node for out in node.output}
    needed: set[int] = set()
    wanted = list(wanted)
    while wanted:
        node = producers.get(wanted.pop())
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            wanted.extend(_node_inputs(node))
    return [node for node in graph.node if id(node) in needed]


def _body_slice(found: _PasteLoop) -> list[onnx.NodeProto]:
    """The body's nodes that the crop and its offsets depend on, in body order."""
    nodes = _backward_slice(found.body, [found.crop] + [shape for shape, _ in found.offsets])
    carried = {i.name for i in found.body.input[1:]}
    if any(carried.intersection(_node_inputs(node)) for node in nodes):
        raise NotPasteLoop("a Loop whose mask depends on earlier iterations")
    if not any(node.op_type == "Resize" for node in nodes):
        raise NotPasteLoop("a Loop whose canvas does not hold a resized mask")
    return nodes


def _outer_constants(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    constants = {t.name: t for t in graph.initializer}
    for node in graph.node:
        value = _attribute(node, "value", None) if node.op_type == "Constant" else None
        if value is not None:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value)
            tensor.name = node.output[0]
            constants[node.output[0]] = tensor
    return constants


def _tensor_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    inferred = onnx.shape_inference.infer_shapes(model).graph
    return {v.name: v.type for v in [*inferred.value_info, *inferred.output, *inferred.input] if v.type.HasField("tensor_type")}


def _value_info(name: str, type_proto: onnx.TypeProto) -> onnx.ValueInfoProto:
    """Element type and rank only: dimension names inferred for dynamic tensors are unreliable
    (the export calls the detection count `batch_size`); the rank is left out where inference
    did not find it (ONNX Runtime accepts that; onnx's checker would want a shape)."""
    tensor = type_proto.tensor_type
    shape = [None] * len(tensor.shape.dim) if tensor.HasField("shape") else None
    return helper.make_tensor_value_info(name, tensor.elem_type, shape)


def _cut_model(model, found: _PasteLoop, tensors: list[str], types) -> onnx.ModelProto:
    graph = model.graph
    outputs = [o for i, o in enumerate(graph.output) if i != found.masks_output]
    outputs += [_value_info(name, types[name]) for name in tensors]
    nodes = _backward_slice(graph, [o.name for o in outputs])
    used = set().union(*(_node_inputs(n) for n in nodes)) | {o.name for o in outputs}
    cut = helper.make_graph(
        nodes, graph.name + "-masks-cut", list(graph.input), outputs,
        initializer=[t for t in graph.initializer if t.name in used],
    )
    return _model_like(model, cut)


def _paste_model(model, found: _PasteLoop, nodes, tensors: list[str], types, constants) -> onnx.ModelProto:
    iteration = found.body.input[0].name
    int64_scalar = helper.make_tensor_type_proto(onnx.TensorProto.INT64, [])
    offset_axis = {axis: shape for shape, axis in found.offsets}
    extra = [
        helper.make_node("Identity", [INDEX_INPUT], [iteration]),
        helper.make_node("Identity", [found.crop], [CROP_OUTPUT]),
    ]
    for output, axis in ((TOP_OUTPUT, 0), (LEFT_OUTPUT, 1)):
        position = helper.make_tensor(f"{output}_axis", onnx.TensorProto.INT64, [], [axis])
        extra.append(helper.make_node("Gather", [offset_axis[axis], position.name], [output], axis=0))
        constants[position.name] = position
    graph = helper.make_graph(
        extra[:1] + list(nodes) + extra[1:],
        "paste-one-mask",
        [_value_info(INDEX_INPUT, int64_scalar)] + [_value_info(name, types[name]) for name in tensors],
        [
            helper.make_tensor_value_info(CROP_OUTPUT, onnx.TensorProto.FLOAT, [None, None]),
            _value_info(TOP_OUTPUT, int64_scalar),
            _value_info(LEFT_OUTPUT, int64_scalar),
        ],
        initializer=list(constants.values()),
    )
    return _model_like(model, graph)


def _model_like(model: onnx.ModelProto, graph: onnx.GraphProto) -> onnx.ModelProto:
    made = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="fashionfail-tui facere_fast")
    made.ir_version = model.ir_version
    return made
