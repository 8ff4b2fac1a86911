"""Tables of model monitoring (same metadata as ``tables``): ground-truth feedback."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.stores.sql.tables import metadata

__all__ = ["feedback"]

# One true label per logged prediction row, keyed by model, prediction id and row: a repeated
# id updates its label (an upsert), never adds a row. ``label`` is the JSON of the value (so
# 1, 1.0 and "1" stay apart); the prediction's time and version are filled in once the
# prediction is found in the logs (``matched``).
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("model", sa.String(128), primary_key=True),
    sa.Column("prediction_id", sa.String(64), primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("label_time", sa.BigInteger, nullable=False),
    sa.Column("prediction_time", sa.BigInteger, nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("matched", sa.Boolean, nullable=False),
    sa.Column("recorded", sa.BigInteger, nullable=False),
    sa.Column("recorded_by", sa.String(128), nullable=False),
    sa.Index(None, "model", "prediction_time"),
)
