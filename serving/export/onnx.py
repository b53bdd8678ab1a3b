"""Writing ONNX graphs: the torch exporter with dynamic axes, category lookups spliced in front of
the graph, and the parity check every export must pass before it is written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

ML_DOMAIN = "ai.onnx.ml"
PARITY_RTOL = 1e-4
OPSET = 18


def export(
    module: torch.nn.Module,
    inputs: dict[str, torch.Tensor],
    output_names: Sequence[str],
    dynamic: dict[str, dict[int, str]],
    path: str | Path,
    fallback: bool = True,
) -> onnx.ModelProto:
    """Export ``module(**inputs)`` with fixed input/output names and the ``dynamic`` axes
    (``{input: {axis: name}}``); returns the loaded ModelProto.

    The TorchScript-based exporter runs first: on these graphs it takes under a second where
    the ``torch.export`` (dynamo) exporter takes tens of seconds. Where it cannot trace a
    module, the dynamo exporter is the fallback (unless not ``fallback``: then the first
    exporter's error is raised). Either way the parity check decides.
    """
    module.eval()
    names = list(inputs)
    args = tuple(inputs[n] for n in names)
    outputs = {n: dict(dynamic.get(n, {})) for n in names}
    try:
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=list(output_names),
            dynamic_axes={**outputs, **{o: {0: "batch"} for o in output_names}},
            opset_version=OPSET,
            dynamo=False,
        )
    except Exception:  # an op the tracer cannot export: the slower exporter handles more
        if not fallback:
            raise
        dims = {n: {axis: torch.export.Dim(label, min=1) for axis, label in d.items()}
                for n, d in outputs.items()}  # fmt: skip
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=list(output_names),
            dynamic_shapes=dims,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    return onnx.load(str(path))


def opset(model: onnx.ModelProto) -> int:
    """The version of the default (``ai.onnx``) operator set ``model`` imports."""
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def declare_inputs(
    model: onnx.ModelProto,
    inputs: dict[str, torch.Tensor],
    dynamic: dict[str, dict[int, str]],
) -> None:
    """Make the graph's inputs exactly ``inputs``, in their order (in place).

    The exporter leaves out inputs the traced graph never reads (a TFT without calendar
    features never reads the dates); onnxruntime then refuses them as unknown names. Declared
    again (unread), every package of a kind takes the same inputs, so a caller builds one set
    of feeds whatever the run's covariates.
    """
    graph = model.graph
    present = {i.name: i for i in graph.input}
    declared = []
    for name, tensor in inputs.items():
        if name in present:
            declared.append(present[name])
            continue
        axes = dynamic.get(name, {})
        shape = [axes.get(k, size) for k, size in enumerate(tensor.shape)]
        dtype = helper.np_dtype_to_tensor_dtype(tensor.detach().numpy().dtype)
        declared.append(helper.make_tensor_value_info(name, dtype, shape))
    extra = [i for i in graph.input if i.name not in inputs]  # initializers listed as inputs
    del graph.input[:]
    graph.input.extend([*declared, *extra])


def lookup_inputs(
    model: onnx.ModelProto,
    codes_input: str,
    columns: Sequence[tuple[str, Sequence[str]]],
    axis: int,
    prefix: str,
    shape_of: str | None = None,
) -> None:
    """Replace the int64 input ``codes_input`` by one string input per column (in place).

    Column ``k`` (``(name, levels)``) becomes input ``<prefix><name>``; an ``ai.onnx.ml``
    LabelEncoder maps its levels to codes 1..n and anything else to 0 (the unknown bucket),
    and the codes are stacked along ``axis`` into the tensor the network reads.

    Without columns (a run with no categoricals of this kind) the network still reads a code
    tensor with nothing along ``axis``; it is made inside the graph, shaped from the input
    ``shape_of`` (one that has the shape a single column would have), so callers feed nothing
    for it: the graph's inputs stay what a caller has, never an empty int64 tensor to build.
    An input the exporter left out (the network never reads it) needs nothing either.
    """
    graph = model.graph
    original = next((i for i in graph.input if i.name == codes_input), None)
    if original is None:
        return
    if not columns:
        if shape_of is None:
            raise ValueError(f"{codes_input}: no columns; name an input to take the shape of")
        graph.input.remove(original)
        _empty_codes(model, codes_input, axis, shape_of)
        return
    dims = [d for d in original.type.tensor_type.shape.dim]
    column_dims = dims[:axis] + dims[axis + 1 :]
    graph.input.remove(original)
    nodes, stacked = [], []
    for name, levels in columns:
        source = f"{prefix}{name}"
        shape = [d.dim_param or d.dim_value for d in column_dims]
        graph.input.append(helper.make_tensor_value_info(source, TensorProto.STRING, shape))
        coded = f"{source}__code"
        nodes.append(
            helper.make_node(
                "LabelEncoder",
                [source],
                [coded],
                domain=ML_DOMAIN,
                keys_strings=[str(v) for v in levels],
                values_int64s=list(range(1, len(levels) + 1)),
                default_int64=0,
                name=f"lookup_{name}",
            )
        )
        axes = f"{source}__axis"
        nodes.append(
            helper.make_node(
                "Constant",
                [],
                [axes],
                value=helper.make_tensor(axes, TensorProto.INT64, [1], [axis]),
            )
        )
        nodes.append(helper.make_node("Unsqueeze", [coded, axes], [f"{source}__col"]))
        stacked.append(f"{source}__col")
    nodes.append(helper.make_node("Concat", stacked, [codes_input], axis=axis))
    for node in reversed(nodes):
        graph.node.insert(0, node)
    if not any(o.domain == ML_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(ML_DOMAIN, 2))


def _empty_codes(model: onnx.ModelProto, codes: str, axis: int, shape_of: str) -> None:
    """Nodes making ``codes``: int64 zeros shaped like ``shape_of`` with a 0 inserted at
    ``axis`` (e.g. (batch, W) -> (batch, W, 0))."""
    zero = f"{codes}__zero"
    shape = f"{codes}__shape"
    nodes = [
        helper.make_node("Shape", [shape_of], [f"{shape}_head"], end=axis),
        helper.make_node("Shape", [shape_of], [f"{shape}_tail"], start=axis),
        helper.make_node(
            "Constant", [], [zero], value=helper.make_tensor(zero, TensorProto.INT64, [1], [0])
        ),
        helper.make_node("Concat", [f"{shape}_head", zero, f"{shape}_tail"], [shape], axis=0),
        helper.make_node(
            "ConstantOfShape",
            [shape],
            [codes],
            value=helper.make_tensor(f"{codes}__fill", TensorProto.INT64, [1], [0]),
        ),
    ]
    for node in reversed(nodes):
        model.graph.node.insert(0, node)


def max_relative_error(expected: np.ndarray, actual: np.ndarray) -> float:
    """max |a - e| / max(|e|, 1% of the largest |e|): relative error, where values close to 0
    (a low quantile of a slow seller) are judged against the output's scale instead of 0."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if expected.size == 0:
        return 0.0
    floor = max(0.01 * float(np.max(np.abs(expected))), 1e-12)
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), floor)))
