"""REST API of ground truth: ``POST /api/v1/feedback`` takes true labels for logged
predictions (contributor role, at most 10,000 labels a call: more is a 413), and
``GET /api/v1/monitoring/realized`` gives the realized metrics per version and window, and
``POST /api/v1/monitoring/export`` registers the labelled production data of a window as a
new dataset version (contributor role; the project's PII policy and checks apply).

    POST /api/v1/feedback
    {"model": "churn", "labels": [{"prediction_id": "…", "label": 1}, …]}

Each label may also give ``row`` (the row's number in a multi-row request, default 0) and
``time`` (when the label was known: epoch ms or ISO; default now). Errors name the row:
``labels[3].label``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

from shipyard.core.clock import now_ms
from shipyard.core.validation import INT64_MAX
from shipyard.interfaces.http.params import VersionNumber
from shipyard.interfaces.presenters.monitoring_feedback import (
    parse_time,
    realized_json,
    receipt_json,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["monitoring"])


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr = Field(description="The registered model the predictions came from.")
    labels: list[Any] = Field(
        description="[{prediction_id, label, row?, time?}, …]; at most 10,000 per call."
    )


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: StrictStr = Field(description="The registered model whose predictions to export.")
    since: StrictStr | StrictInt = Field(
        description="Start: epoch ms, ISO time, or a duration back from now like 7d."
    )
    until: StrictStr | StrictInt | None = Field(None, description="End (exclusive); now.")
    env: StrictStr | None = Field(None, description="One environment (default: all).")
    labelled: StrictBool = Field(False, description="Only the predictions with a true label.")
    name: StrictStr | None = Field(None, description="The dataset (default: MODEL-feedback).")
    mix_with: StrictStr | None = Field(None, description="A table version to put first.")
    target: StrictStr | None = Field(None, description="The label column's name.")

    @field_validator("since", "until")
    @classmethod
    def _epoch_in_range(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, int) and not 0 <= value <= INT64_MAX:
            raise ValueError(f"epoch ms must be within 0..{INT64_MAX}")
        return value


def _services(request: Request) -> Any:
    return request.app.state.services


@router.post("/feedback")
def post_feedback(request: Request, body: FeedbackIn) -> dict[str, Any]:
    """Record the labels as the caller; a repeated prediction id updates its label."""
    user = request.state.user
    receipt = _services(request).feedback.record(body.model, body.labels, user=user.name)
    return receipt_json(receipt)


@router.get("/monitoring/realized")
def get_realized(
    request: Request,
    model: str = Query(description="The registered model."),
    version: Annotated[
        VersionNumber | None, Query(description="One version (default: every version).")
    ] = None,
    env: str | None = Query(None, description="One environment (default: all)."),
    start: str | None = Query(None, description="Epoch ms, ISO time, or a duration like 1h."),
    end: str | None = Query(None, description="Epoch ms or ISO time (exclusive; default now)."),
) -> dict[str, Any]:
    """Realized metrics on the labelled predictions made in ``[start, end)``."""
    now = now_ms()
    realized = _services(request).realized.realized(
        model,
        version=version,
        env=(env or "").strip() or None,
        start_ms=parse_time(start, "start", now),
        end_ms=parse_time(end, "end", now),
    )
    return realized_json(realized)


@router.post("/monitoring/export")
def post_export(request: Request, body: ExportIn) -> dict[str, Any]:
    """Register the predictions of ``[since, until)`` with their true labels as a new
    version of ``name``; returns its ref and what went into it."""
    now = now_ms()
    result = _services(request).export.run(
        body.model,
        since_ms=parse_time(body.since, "since", now),
        until_ms=parse_time(body.until, "until", now),
        labelled=body.labelled,
        user=request.state.user.name,
        env=body.env,
        name=body.name,
        mix_with=body.mix_with,
        target=body.target,
    )
    return dict(result.to_dict())
