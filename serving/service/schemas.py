"""Typed requests and responses of the service (pydantic; shown on the OpenAPI page)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

Cell = str | float | int | bool | None
Row = dict[str, Cell]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- errors


class Problem(BaseModel):
    field: str = Field(..., description="the field, dotted (rows.3.price); body for the whole")
    problem: str


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer: what is wrong as text, or a request's invalid fields."""

    detail: str | list[Problem]


class Readiness(BaseModel):
    ready: bool


# --------------------------------------------------------------------------- forecasts


class ForecastRequest(Strict):
    """Series to forecast: their history and the known covariates of the horizon, one row per
    (item, location, period) in the column names the model was trained with."""

    model: str | None = Field(None, description="package name (default: the only forecast model)")
    version: str | None = Field(None, description="package version (default: the latest)")
    rows: list[Row] = Field(..., min_length=1, description="the table, one object per row")
    cumulative: int | None = Field(
        None, ge=1, description="quantiles of demand summed over the next 1..K periods"
    )

    @field_validator("cumulative", mode="before")
    @classmethod
    def _periods_not_a_switch(cls, value: Any) -> Any:
        # pydantic reads JSON true as 1: a client taking "cumulative" for a switch would get
        # the one-period sums only, with a 200
        if isinstance(value, bool):
            raise ValueError("expected a number of periods 1..horizon, not true/false")
        return value

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {"item_id": "SKU1", "location_id": "FC1", "date": "2024-01-01",
                         "demand": 3, "price": 9.99},
                        {"item_id": "SKU1", "location_id": "FC1", "date": "2024-01-02",
                         "demand": None, "price": 9.99},
                    ],
                    "cumulative": None,
                }
            ]
        },
    )  # fmt: skip


class ForecastRow(BaseModel):
    item_id: str
    location_id: str
    date: str | None = Field(None, description="the period (per-step forecasts)")
    step: int | None = Field(None, description="1 = the first forecast period")
    horizon: int | None = Field(None, description="periods summed (cumulative forecasts)")
    step_days: float | None = Field(
        None, description="days of one period (cumulative forecasts; /v1/plan reads it)"
    )
    quantiles: dict[str, float] = Field(..., description="quantile column -> demand")


class ForecastResponse(BaseModel):
    model: str
    version: str
    provider: str
    quantiles: list[float]
    rows: list[ForecastRow]
    warnings: list[str] = Field(
        default_factory=list,
        description="levels unseen in training (they map to the unknown embedding), by column",
    )


# --------------------------------------------------------------------------- plans


class Allocation(Strict):
    """Scarce supply to split across locations (see ``kernels.allocate``)."""

    demand: list[Row] = Field(..., min_length=1, description="item_id, location_id, sample, demand")
    stock: list[Row] = Field(
        ...,
        min_length=1,
        description="item_id, location_id, on_hand[, on_order, backorders, cap, margin]",
    )
    supply: list[Row] = Field(..., min_length=1, description="item_id, supply[, reserve]")
    objective: Literal["sales", "margin"] = "sales"


class PlanRequest(Strict):
    """Inventory positions and either a forecast (cumulative quantiles, sample paths or
    demand_mean / demand_std rows) or series to forecast with a model package first."""

    inventory: list[Row] = Field(..., min_length=1, description="one row per item x location")
    forecast: list[Row] | None = Field(None, description="a forecast table in kernels' forms")
    series: list[Row] | None = Field(None, description="history to forecast with `model`")
    model: str | None = Field(None, description="forecast package for `series`")
    version: str | None = None
    lead_times: list[Row] | None = Field(None, description="observed lead times per key")
    policy: dict[str, Any] | None = Field(None, description="kernels.Policy fields")
    allocation: Allocation | None = None

    @field_validator("forecast", mode="before")
    @classmethod
    def _forecast_answer_flattened(cls, value: Any) -> Any:
        # /v1/forecast's rows, sent on unchanged, hold their quantiles as one object: the 422
        # listed four type errors per row ("quantiles.str: Input should be a valid string")
        # and said nothing of what /v1/plan wants instead.
        if not isinstance(value, list):
            return value
        nested = [i for i, row in enumerate(value)
                  if isinstance(row, dict) and isinstance(row.get("quantiles"), dict)]  # fmt: skip
        if nested:
            shown = ", ".join(str(i) for i in nested[:3])
            more = f" and {len(nested) - 3} more" if len(nested) > 3 else ""
            raise PydanticCustomError(
                "forecast_answer_rows",
                f"rows {shown}{more} hold a quantiles object, as /v1/forecast answers them; "
                "/v1/plan reads one field per quantile level: move each row's quantiles into "
                'the row ("q0.5": 12.0 beside "horizon": 1) and leave out "quantiles". Plan '
                'from a /v1/forecast asked with "cumulative" (quantiles over 1..K periods; '
                "per-period quantiles do not add up), or send series and model instead of "
                "forecast (README, The inference service: A forecast answer to /v1/plan)",
            )
        return value


class PlanResponse(BaseModel):
    rows: list[dict[str, Any]]
    allocation: list[dict[str, Any]] | None = None
    forecast_model: str | None = None
    warnings: list[str] = Field(
        default_factory=list, description="about the forecast made from `series`, if any"
    )


# --------------------------------------------------------------------------- inspection


class ViewResult(BaseModel):
    view: str
    status: str
    error: str | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    heatmap_png: str | None = Field(None, description="base64 PNG, on request")


class InspectResponse(BaseModel):
    model: str
    version: str
    provider: str
    item_id: str
    verdict: Literal["pass", "review", "reject"]
    status: str
    reasons: list[str]
    any_defect: float = Field(
        ..., description="probability of at least one defect: 1 - prod(1 - p_class)"
    )
    scores: dict[str, float]
    errors: list[str] = Field(
        default_factory=list, description="why the inspection is incomplete, if it is"
    )
    views: list[ViewResult]
    queued: bool = Field(
        False,
        description="the item waits in the review queue (verdict review, the service has a "
        "review database, and the request named item_id, sku and location_id)",
    )
    recorded: bool = Field(
        False,
        description="verdict reject, recorded in the review database as a rejected unit "
        "(plan --review-db takes it off sellable stock); false where the unit was already "
        "queued or decided there, which stands",
    )


# --------------------------------------------------------------------------- OIP v2


class Tensor(BaseModel):
    name: str
    shape: list[int] = Field(..., max_length=8)
    datatype: Literal["FP32", "FP64", "INT64", "INT32", "UINT8", "BOOL", "BYTES"]
    data: list[Any]


class InferRequest(BaseModel):
    id: str | None = None
    inputs: list[Tensor] = Field(..., min_length=1)
    outputs: list[dict[str, Any]] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[Tensor]


class TensorMeta(BaseModel):
    name: str
    datatype: str
    shape: list[int | str]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str = "onnxruntime_onnx"
    inputs: list[TensorMeta]
    outputs: list[TensorMeta]
