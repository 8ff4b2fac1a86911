"""What each inference route does: choose the version, decode, predict, answer, count, log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from shipyard.core.errors import ShipyardError, ValidationError
from shipyard.interfaces.serving.protocols import (
    NUMPY_TYPES,
    decode_mlflow,
    decode_v2,
    parameters,
    v2_datatype,
)
from shipyard.services.serving.predictors import LoadedModel
from shipyard.services.serving.runtime import Choice, ServingRuntime

__all__ = ["Handlers", "ModelFailedError"]

_JSON = b"application/json"
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


class ModelFailedError(ShipyardError):
    code = "MODEL_ERROR"
    http_status = 500


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _query_model(scope: dict[str, Any]) -> str | None:
    from urllib.parse import parse_qs

    found = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("model")
    return found[0] if found else None


class Handlers:
    def __init__(self, runtime: ServingRuntime) -> None:
        self.runtime = runtime
        self._background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------ inference
    async def infer(
        self,
        scope: dict[str, Any],
        target: tuple[str, str | None, int | None],
        body: bytes,
        started: float,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        protocol, name, version = target
        rt = self.runtime
        if name is None:
            name = _header(scope, b"x-shipyard-model") or _query_model(scope) or self._only_model()
        deployment = rt.deployment(name)
        choice = rt.choose(deployment, _header(scope, b"x-shipyard-key"), version)
        loaded = await rt.model(name, choice.version)
        payload, binary = _parse(scope, body, protocol)
        if protocol == "v2":
            x = decode_v2(payload, loaded.spec, binary)
        else:
            x = decode_mlflow(payload, loaded.spec)
        try:
            y = await rt.predict(loaded, choice.role, x, started)
        except Exception as e:
            raise ModelFailedError(
                f"model {loaded.version.ref} failed: {type(e).__name__}: {str(e)[:500]}",
                field="model",
            ) from None
        pid = rt.prediction_id()
        headers = [
            (b"content-type", _JSON),
            (b"x-prediction-id", pid.encode()),
            (b"x-shipyard-version", str(choice.version).encode()),
            (b"x-shipyard-role", choice.role.encode()),
        ]
        if protocol == "v2":
            out, json_size = _v2_body(loaded, choice, pid, payload, y)
            if json_size is not None:
                headers.append((b"inference-header-content-length", str(json_size).encode()))
        else:
            out = _mlflow_body(pid, y)
        rt.answered(pid, loaded, choice.role, started, x, y)
        if choice.shadow is not None:
            self._spawn(self._shadow(name, choice.shadow, x, pid))
        return 200, out, headers

    def _only_model(self) -> str:
        names = sorted(self.runtime.routes)
        if len(names) == 1:
            return names[0]
        raise ValidationError(
            f"{self.runtime.env} serves {len(names)} models ({', '.join(names) or 'none'}); "
            "name one: /models/<name>/invocations, ?model=<name> or the X-Shipyard-Model header",
            field="model",
        )

    async def _shadow(self, name: str, version: int, x: Any, pid: str) -> None:
        """The candidate answers a copy of the request; only its logs and figures see it."""
        rt = self.runtime
        started = time.perf_counter()
        try:
            loaded = await rt.model(name, version)
        except Exception:
            elapsed = (time.perf_counter() - started) * 1000
            rt.stats.counter(name, version, "shadow").observe(elapsed, 0, True)
            return
        try:
            y = await rt.predict(loaded, "shadow", x, started)
        except Exception:
            return  # counted by predict
        rt.answered(pid, loaded, "shadow", started, x, y)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------ metadata
    def ready(self) -> bool:
        rt = self.runtime
        return rt.generation >= 0

    def server_metadata(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {
            "name": "shipyard",
            "version": version("shipyard"),
            "extensions": ["model_repository_index", "prediction_logging"],
            "environment": self.runtime.env,
            "models": sorted(self.runtime.routes),
            "loaded_versions": self.runtime.loaded_count(),
        }

    async def model_metadata(self, name: str, version: int | None) -> dict[str, Any]:
        d = self.runtime.deployment(name)
        choice = self.runtime.choose(d, "metadata", version)
        loaded = await self.runtime.model(name, choice.version)
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
                {"name": "predict", "datatype": v2_datatype(loaded.output_dtype), "shape": [-1]}
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
        d = self.runtime.deployment(name)
        choice = self.runtime.choose(d, "ready", version)
        try:
            await self.runtime.model(name, choice.version)
        except ShipyardError:
            return False
        return True


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


def _wants_binary(payload: dict[str, Any]) -> bool:
    if parameters(payload, "request").get("binary_data_output"):
        return True
    outputs = payload.get("outputs")
    if outputs is None:
        return False
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise ValidationError("outputs must be a list of objects", field="outputs")
    return any(parameters(o, f"outputs[{i}]").get("binary_data") for i, o in enumerate(outputs))


def _v2_body(
    loaded: LoadedModel, choice: Choice, pid: str, payload: dict[str, Any], y: Any
) -> tuple[bytes, int | None]:
    """The response, and the size of its JSON part when binary tensors follow it."""
    request_id = payload.get("id")
    datatype = v2_datatype(str(y.dtype))
    output: dict[str, Any] = {"name": "predict", "shape": [len(y)], "datatype": datatype}
    blob = b""
    if _wants_binary(payload) and datatype in NUMPY_TYPES:
        blob = y.astype(NUMPY_TYPES[datatype], copy=False).tobytes()
        output["parameters"] = {"binary_data_size": len(blob)}
    else:
        output["data"] = y if y.dtype.kind in "biuf" else y.tolist()
    out = {
        "model_name": loaded.version.name,
        "model_version": str(choice.version),
        "id": request_id if isinstance(request_id, str) else pid,
        "parameters": {"prediction_id": pid, "role": choice.role},
        "outputs": [output],
    }
    head = orjson.dumps(out, option=_NUMPY)
    return (head + blob, len(head)) if blob else (head, None)


def _mlflow_body(pid: str, y: Any) -> bytes:
    data = y if y.dtype.kind in "biuf" else y.tolist()
    return orjson.dumps({"predictions": data, "prediction_id": pid}, option=_NUMPY)
