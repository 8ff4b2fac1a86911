"""What each inference route does: read the protocol, let the runtime answer, write the
protocol's answer. Version choice, batching, counting, logging and shadows are the runtime's.

A binary classifier's positive-class probabilities come back on request (they are always
logged): in V2, an ``outputs`` entry named ``proba`` (or the request parameter
``"proba": true``) adds an FP64 output ``proba``; in MLflow scoring, ``?proba=true`` or
``"params": {"proba": true}`` adds ``"probabilities": [...]`` next to ``"predictions"``.
Asking a model without probabilities is a 400 naming ``proba``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import orjson

from shipyard.core.errors import ValidationError
from shipyard.interfaces.serving.protocols import (
    NUMPY_TYPES,
    decode_mlflow,
    decode_v2,
    parameters,
    v2_datatype,
)
from shipyard.services.serving.inputs import InputSpec
from shipyard.services.serving.runtime import Answer, InferenceRequest, ServingRuntime

__all__ = ["Handlers"]

_JSON = b"application/json"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _query(scope: dict[str, Any], name: str) -> str | None:
    raw = scope.get("query_string")
    if not raw:  # the common case: no query string at all (nothing to parse)
        return None
    found = parse_qs(raw.decode("latin-1")).get(name)
    return found[0] if found else None


def _query_model(scope: dict[str, Any]) -> str | None:
    return _query(scope, "model")


def _flag(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise ValidationError(f"{field} must be true or false, got {value!r}", field=field)


def _wants_proba_v2(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    if _flag(parameters(payload, "request").get("proba", False), "parameters.proba"):
        return True
    outputs = payload.get("outputs")
    return isinstance(outputs, list) and any(
        isinstance(o, dict) and o.get("name") == "proba" for o in outputs
    )


def _wants_proba_mlflow(scope: dict[str, Any], payload: Any) -> bool:
    query = _query(scope, "proba")
    if query is not None and _flag(query, "proba"):
        return True
    params = payload.get("params") if isinstance(payload, dict) else None
    if params is None:
        return False
    if not isinstance(params, dict):
        raise ValidationError("params must be an object", field="params")
    return _flag(params.get("proba", False), "params.proba")


class Handlers:
    def __init__(self, runtime: ServingRuntime) -> None:
        self.runtime = runtime

    # ------------------------------------------------------------ inference
    async def infer(
        self,
        scope: dict[str, Any],
        target: tuple[str, str | None, int | None],
        body: bytes,
        started: float,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        protocol, name, version = target
        if name is None:
            name = _header(scope, b"x-shipyard-model") or _query_model(scope)
        payload, binary = _parse(scope, body, protocol)
        decode: Callable[[InputSpec], Any]
        if protocol == "v2":
            # the answer's encoding is checked before anything is predicted
            wants_binary = isinstance(payload, dict) and _wants_binary(payload)
            wants_proba = _wants_proba_v2(payload)
            decode = partial(_decode_v2, payload, binary)
        else:
            wants_binary = False
            wants_proba = _wants_proba_mlflow(scope, payload)
            decode = partial(_decode_mlflow, payload)
        key = _header(scope, b"x-shipyard-key")
        request = InferenceRequest(name, version, key, decode, started, wants_proba)
        answer = await self.runtime.answer(request)
        headers = [
            (b"content-type", _JSON),
            (b"x-prediction-id", answer.prediction_id.encode()),
            (b"x-shipyard-version", str(answer.choice.version).encode()),
            (b"x-shipyard-role", answer.choice.role.encode()),
        ]
        if protocol == "v2":
            out, json_size = _v2_body(answer, payload, wants_binary, wants_proba)
            if json_size is not None:
                headers.append((b"inference-header-content-length", str(json_size).encode()))
        else:
            out = _mlflow_body(answer, wants_proba)
        return 200, out, headers

    # ------------------------------------------------------------ metadata
    def ready(self) -> bool:
        return self.runtime.generation >= 0

    def server_metadata(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "name": "shipyard",
            "version": version("shipyard"),
            "extensions": ["model_repository_index", "prediction_logging"],
            "environment": self.runtime.env,
            "models": sorted(self.runtime.routes),
            "loaded_versions": self.runtime.loaded_count(),
            "max_models": self.runtime.models.cap,
            "pinned": sorted(self.runtime.models.pinned),
        }

    async def model_metadata(self, name: str, version: int | None) -> dict[str, Any]:
        d, loaded = await self.runtime.describe(name, version)
        spec = loaded.spec
        return {
            "name": name,
            "versions": [str(v) for v in d.versions()],
            "platform": "onnxruntime" if loaded.path == "onnx" else loaded.version.flavor,
            "inputs": [
                {"name": c, "datatype": v2_datatype(t), "shape": [-1]}
                for c, t in zip(spec.columns, spec.dtypes, strict=True)
            ],
            "outputs": [
                {"name": "predict", "datatype": v2_datatype(loaded.output_dtype), "shape": [-1]},
                *([{"name": "proba", "datatype": "FP64", "shape": [-1]}] if loaded.scores else []),
            ],
            "parameters": {
                "live_version": d.live_version,
                "candidate_version": d.candidate_version,
                "strategy": d.strategy.value,
                "traffic": d.traffic,
                "predict_path": loaded.path,
            },
        }

    async def model_ready(self, name: str, version: int | None) -> bool:
        return await self.runtime.is_ready(name, version)


def _parse(scope: dict[str, Any], body: bytes, protocol: str) -> tuple[Any, bytes]:
    """The JSON part of the body, and the binary tensors after it (V2 binary extension)."""
    size = _header(scope, b"inference-header-content-length") if protocol == "v2" else None
    head, binary = body, b""
    if size is not None:
        if not (size.isascii() and size.isdigit()) or int(size) > len(body):
            raise ValidationError(
                f"Inference-Header-Content-Length {size!r} does not fit the body", field="body"
            )
        head, binary = body[: int(size)], body[int(size) :]
    try:
        return orjson.loads(head), binary
    except orjson.JSONDecodeError as e:
        raise ValidationError(f"the body is not valid JSON: {e}", field="body") from None


def _decode_v2(payload: Any, binary: bytes, spec: InputSpec) -> Any:
    return decode_v2(payload, spec, binary)


def _decode_mlflow(payload: Any, spec: InputSpec) -> Any:
    return decode_mlflow(payload, spec)


def _wants_binary(payload: dict[str, Any]) -> bool:
    if parameters(payload, "request").get("binary_data_output"):
        return True
    outputs = payload.get("outputs")
    if outputs is None:
        return False
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise ValidationError("outputs must be a list of objects", field="outputs")
    return any(parameters(o, f"outputs[{i}]").get("binary_data") for i, o in enumerate(outputs))


def _v2_output(name: str, y: Any, wants_binary: bool) -> tuple[dict[str, Any], bytes]:
    """One output tensor, and its binary data when it travels after the JSON."""
    datatype = v2_datatype(str(y.dtype))
    output: dict[str, Any] = {"name": name, "shape": [len(y)], "datatype": datatype}
    if wants_binary and datatype in NUMPY_TYPES:
        blob = y.astype(NUMPY_TYPES[datatype], copy=False).tobytes()
        output["parameters"] = {"binary_data_size": len(blob)}
        return output, blob
    output["data"] = y if y.dtype.kind in "biuf" else y.tolist()
    return output, b""


def _v2_body(
    answer: Answer, payload: dict[str, Any], wants_binary: bool, wants_proba: bool = False
) -> tuple[bytes, int | None]:
    """The response, and the size of its JSON part when binary tensors follow it."""
    choice, pid = answer.choice, answer.prediction_id
    request_id = payload.get("id")
    output, blob = _v2_output("predict", answer.outputs, wants_binary)
    outputs = [output]
    if wants_proba and answer.proba is not None:
        proba, proba_blob = _v2_output("proba", answer.proba, wants_binary)
        outputs.append(proba)
        blob += proba_blob
    out = {
        "model_name": answer.loaded.version.name,
        "model_version": str(choice.version),
        "id": request_id if isinstance(request_id, str) else pid,
        "parameters": {"prediction_id": pid, "role": choice.role},
        "outputs": outputs,
    }
    head = orjson.dumps(out, option=_NUMPY)
    return (head + blob, len(head)) if blob else (head, None)


def _mlflow_body(answer: Answer, wants_proba: bool = False) -> bytes:
    y = answer.outputs
    data = y if y.dtype.kind in "biuf" else y.tolist()
    body: dict[str, Any] = {"predictions": data, "prediction_id": answer.prediction_id}
    if wants_proba and answer.proba is not None:
        body["probabilities"] = answer.proba
    return orjson.dumps(body, option=_NUMPY)
