"""What every per-model policy table of shipyard.toml (``[monitor.<model>]``,
``[retrain.<model>]``) checks first: it is a table, and it names only known keys."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from shipyard.core.errors import ValidationError

__all__ = ["model_table"]


def model_table(where: str, spec: object, keys: Collection[str]) -> Mapping[str, object]:
    """``spec`` (the table ``[<where>]``) once it is a table of known ``keys``; else a
    ValidationError naming the table or the unknown key."""
    if not isinstance(spec, Mapping):
        raise ValidationError(f"[{where}] must be a table", field=where)
    for key in spec:
        if key not in keys:
            raise ValidationError(
                f"{where}.{key}: unknown key; use {', '.join(keys)}", field=f"{where}.{key}"
            )
    return spec
