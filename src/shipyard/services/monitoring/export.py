"""Production data into training data: a model's logged predictions joined with their true
labels, registered as a new dataset version through the catalog (so the project's PII
policy, its ``[data.<name>.checks]`` and the catalog's audit apply).

>>> FeedbackExport(...).export("loans", since_ms=t0, labelled=True, user="ada")
'loans-feedback@v3'

The rows are the live answers (a shadow's copies are left out) made in ``[since, until)``,
optionally in one environment: the input columns as logged, then the label in the target
column, named as the model's training data names it (the training run's input dataset has
one column more than the signature: that one), else as the dataset to mix with names it,
else ``label``. ``labelled=True`` keeps only the rows that have a label. ``mix_with`` puts a
table version (the last training data) first; its columns must be the same. Everything is
checked before anything is written, so a refusal registers nothing. An audit entry
``monitoring.export`` records the model, versions, environment, window and labels used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from shipyard.core.clock import format_ms, now_ms
from shipyard.core.datasets import DatasetKind, check_dataset_name
from shipyard.core.errors import NotFoundError, ShipyardError, ValidationError
from shipyard.services.formats.prediction_reader import PredictionLogReader
from shipyard.services.monitoring.targets import Targets
from shipyard.services.ports import ExportDatasets
from shipyard.stores.ports import AuditLog, FeedbackStore, NewEntry, Transactions

__all__ = ["ExportResult", "FeedbackExport"]

_SLACK_MS = 600_000  # a label's stored prediction time may precede the logged one
_META = ["_id", "_row", "_version", "_role"]
DEFAULT_TARGET = "label"

Policies = Callable[[str], Mapping[str, object] | None]


@dataclass(frozen=True)
class ExportResult:
    """What one export registered: ``ref`` is the new (or identical, ``created`` False)
    dataset version; ``rows`` its rows, of which ``production`` came from the logs."""

    ref: str
    created: bool
    model: str
    env: str | None
    start_ms: int | None
    end_ms: int
    versions: tuple[int, ...]
    predictions: int  # live rows in the window
    labelled: int  # of which have a label
    production: int  # rows taken from the logs
    rows: int  # rows of the new version (with the mixed ones)
    target: str
    target_from: str  # option | lineage | mix_with | default
    mixed_with: str | None
    validation: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["versions"] = list(self.versions)
        return out


@dataclass
class _Gathered:
    frames: list[Any]
    predictions: int = 0
    labelled: int = 0


class FeedbackExport:
    def __init__(
        self,
        db: Transactions,
        reader: PredictionLogReader,
        targets: Targets,
        catalog: ExportDatasets,
        *,
        repo: FeedbackStore,
        audit: AuditLog,
        pii: Policies = lambda name: None,
        checks: Policies = lambda name: None,
        training_inputs: Callable[[str], Sequence[str]] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """``training_inputs(run_id)``: the dataset refs a run and the runs above it read
        (default: the run's own inputs)."""
        self.db = db
        self.reader = reader
        self.targets = targets
        self.catalog = catalog
        self.repo = repo
        self.audit = audit
        self.pii = pii
        self.checks = checks
        self.training_inputs = training_inputs or (
            lambda run_id: [edge.ref for edge in catalog.inputs_of_run(run_id)]
        )
        self.clock = clock

    def export(
        self, model: str, *, since_ms: int | None, labelled: bool, user: str, **options: Any
    ) -> str:
        """The ref of the new dataset version (see the module's docstring); ``options``:
        ``until_ms``, ``env``, ``name`` (default ``<model>-feedback``), ``mix_with``,
        ``target``."""
        return self.run(model, since_ms=since_ms, labelled=labelled, user=user, **options).ref

    def run(
        self,
        model: str,
        *,
        since_ms: int | None,
        labelled: bool,
        user: str,
        until_ms: int | None = None,
        env: str | None = None,
        name: str | None = None,
        mix_with: str | None = None,
        target: str | None = None,
    ) -> ExportResult:
        """Like ``export``, with what was exported."""
        latest = self.targets.latest(model)
        end = self.clock() if until_ms is None else until_ms
        _check_window(since_ms, end)
        dataset = check_dataset_name(name or f"{model}-feedback")
        env = self._check_env(model, (env or "").strip() or None)
        mix_ref, mixed = self._mix_frame(mix_with)
        column, origin = self._target(latest, target, mixed)
        got = self._gather(model, env, since_ms, end, labelled, column)
        self._check_rows(model, env, since_ms, end, labelled, got)
        frame = _combine(got.frames, mixed, mix_ref, column)
        version = self._register(
            dataset, frame, model, _describe(model, env, since_ms, end, got), user
        )
        result = ExportResult(
            ref=version.ref,
            created=version.created,
            model=model,
            env=env,
            start_ms=since_ms,
            end_ms=end,
            versions=tuple(sorted({int(v) for f in got.frames for v in f["_version"]})),
            predictions=got.predictions,
            labelled=got.labelled,
            production=sum(len(f) for f in got.frames),
            rows=len(frame),
            target=column,
            target_from=origin,
            mixed_with=mix_ref,
            validation=self._validate(version.ref, dataset, user),
        )
        self._audit(user, dataset, result)
        return result

    # ------------------------------------------------------------------ checks
    def _check_env(self, model: str, env: str | None) -> str | None:
        if env is None:
            return None
        known = sorted({f.env for f in self.reader.files(model) if f.env})
        if env in known:
            return env
        if not known:
            raise NotFoundError(
                f"{model} has no prediction logs in any environment yet; deploy it and send "
                "it traffic first",
                field="env",
            )
        raise NotFoundError(
            f"{model} has no prediction logs in environment {env!r}; its logs are from: "
            f"{', '.join(known)}",
            field="env",
        )

    def _check_rows(
        self,
        model: str,
        env: str | None,
        start: int | None,
        end: int,
        labelled: bool,
        got: _Gathered,
    ) -> None:
        window = _window_text(start, end) + (f" in {env}" if env else "")
        if not got.predictions:
            raise ValidationError(
                f"{model} has no logged predictions {window}; widen --since (or check --env)",
                field="since",
            )
        if labelled and not got.labelled:
            raise ValidationError(
                f"none of the {got.predictions} predictions of {model} {window} has a label "
                "yet; record labels with `shipyard monitor feedback`, widen --since, or "
                "export without --labelled",
                field="labelled",
            )

    def _mix_frame(self, ref: str | None) -> tuple[str | None, Any]:
        """The exact ref and the rows of the version to mix with (None, None without one)."""
        if ref is None:
            return None, None
        try:
            version = self.catalog.get_version(ref)
        except NotFoundError as e:
            raise NotFoundError(f"--mix-with: {e.message}", field="mix_with") from None
        if version.kind is not DatasetKind.TABLE:
            raise ValidationError(
                f"{version.ref} is a folder dataset; mix with a table version", field="mix_with"
            )
        return version.ref, self.catalog.load_frame(version.ref)

    # ------------------------------------------------------------------ the target
    def _target(self, latest: Any, option: str | None, mixed: Any) -> tuple[str, str]:
        """The label column's name and where it came from."""
        inputs = [n for n, _ in latest.signature.inputs]
        if option is not None:
            if not isinstance(option, str) or not option.strip() or option in inputs:
                raise ValidationError(
                    f"target {option!r} must name a column that is not an input "
                    f"({', '.join(inputs)})",
                    field="target",
                )
            return option, "option"
        found = self._lineage_target(latest, set(inputs))
        if found is not None:
            return found, "lineage"
        if mixed is not None:
            extra = [c for c in mixed.columns if c not in inputs]
            if len(extra) == 1:
                return str(extra[0]), "mix_with"
        return DEFAULT_TARGET, "default"

    def _lineage_target(self, latest: Any, inputs: set[str]) -> str | None:
        """The one column the training run's input table has besides the model's inputs."""
        if not latest.run_id or not inputs:
            return None
        try:
            for ref in self.training_inputs(latest.run_id):
                columns = [c for c, _ in self.catalog.get_version(ref).columns]
                extra = [c for c in columns if c not in inputs]
                if len(extra) == 1 and inputs <= set(columns):
                    return extra[0]
        except ShipyardError:  # lineage that cannot be read names nothing
            return None
        return None

    # ------------------------------------------------------------------ reading
    def _gather(
        self, model: str, env: str | None, start: int | None, end: int, labelled: bool, target: str
    ) -> _Gathered:
        """The live rows of the window, each with its label (or None), batch by batch."""
        import pyarrow as pa
        import pyarrow.compute as pc

        index = self._labels(model, start, end)
        ids = pa.array(sorted({pid for pid, _ in index}), pa.string())
        got = _Gathered([])
        for batch in self.reader.batches(model, env=env, start_ms=start, end_ms=end):
            batch = batch.filter(pc.invert(pc.fill_null(pc.equal(batch["_role"], "shadow"), False)))
            got.predictions += batch.num_rows
            if labelled:  # cut to the rows that may have a label before converting
                batch = batch.filter(pc.is_in(batch.column("_id"), value_set=ids))
            if not batch.num_rows:
                continue
            frame = _frame(batch, index, target)
            has = frame[target].notna()
            got.labelled += int(has.sum())
            frame = frame[has] if labelled else frame
            if len(frame):
                got.frames.append(frame)
        return got

    def _labels(self, model: str, start: int | None, end: int) -> dict[tuple[str, int], Any]:
        low = None if start is None else start - _SLACK_MS
        with self.db.read() as conn:
            labels = self.repo.labels(conn, model, low, end + _SLACK_MS)
        return {(x.prediction_id, x.row): x.label for x in labels}

    # ------------------------------------------------------------------ writing
    def _register(self, dataset: str, frame: Any, model: str, where: str, user: str) -> Any:
        """The new version, through the catalog (the dataset's PII policy applies)."""
        return self.catalog.register(
            dataset,
            frame,
            description=f"Production data of {model}: {where}",
            tags={"exported_from": model},
            pii=self.pii(dataset),
            user=user,
            source_label=f"monitor export of {where}",
        )

    def _validate(self, ref: str, dataset: str, user: str) -> dict[str, Any] | None:
        spec = self.checks(dataset)
        if not spec:
            return None
        record = self.catalog.validate(ref, spec, user)
        return {"passed": record.passed, "checks_run": record.checks_run, "failed": record.failed}

    def _audit(self, user: str, dataset: str, result: ExportResult) -> None:
        payload = {k: v for k, v in result.to_dict().items() if k != "validation"}
        entry = NewEntry(user, "monitoring.export", "dataset", dataset, "", payload)
        with self.db.write() as conn:
            self.audit.append(conn, [entry], self.clock())


def _frame(batch: Any, index: dict[tuple[str, int], Any], target: str) -> Any:
    """The inputs as logged, the label in ``target``, and ``_version`` (dropped later)."""
    frame = batch.to_pandas()
    keys = zip(frame["_id"].tolist(), frame["_row"].tolist(), strict=True)
    labels = [index.get((pid, int(row))) for pid, row in keys]
    inputs = [c for c in frame.columns if not str(c).startswith("_")]
    if target in inputs:
        raise ValidationError(
            f"the target column {target!r} is also a logged input; name another with --target",
            field="target",
        )
    out = frame[[*inputs, "_version"]].copy()
    out[target] = labels
    return out


def _combine(frames: list[Any], mixed: Any, mix_with: str | None, target: str) -> Any:
    """The production rows (inputs then ``target``), after the mixed version's rows."""
    import pandas as pd

    production = pd.concat(frames, ignore_index=True).drop(columns=["_version"])
    production = production[[*[c for c in production.columns if c != target], target]]
    if mixed is None:
        return production
    ours, theirs = set(production.columns), set(mixed.columns)
    if ours != theirs:
        missing, extra = sorted(theirs - ours), sorted(ours - theirs)
        raise ValidationError(
            f"{mix_with} has other columns than the export: missing from the logs "
            f"{missing or 'none'}, not in {mix_with} {extra or 'none'} (the label column is "
            f"{target!r}; name it with --target)",
            field="mix_with",
        )
    _check_kinds(production, mixed, mix_with)
    return pd.concat([mixed, production[list(mixed.columns)]], ignore_index=True)


def _check_kinds(production: Any, mixed: Any, mix_with: str | None) -> None:
    from pandas.api.types import is_numeric_dtype

    for column in mixed.columns:
        ours, theirs = production[column].dropna(), mixed[column].dropna()
        if ours.empty or theirs.empty:
            continue
        if is_numeric_dtype(ours) != is_numeric_dtype(theirs):
            kinds = ["numbers" if is_numeric_dtype(s) else "text" for s in (ours, theirs)]
            raise ValidationError(
                f"column {column!r} holds {kinds[0]} in the logs but {kinds[1]} in {mix_with}",
                field="mix_with",
            )


def _check_window(start: int | None, end: int) -> None:
    for name, value in (("since", start), ("until", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(f"{name} must be epoch milliseconds, got {value!r}", field=name)
    if start is not None and end <= start:
        raise ValidationError(
            f"the window ends ({format_ms(end)}) before it starts ({format_ms(start)}); "
            "--until must be after --since",
            field="until",
        )


def _window_text(start: int | None, end: int) -> str:
    return f"from {format_ms(start)} to {format_ms(end)}" if start else f"before {format_ms(end)}"


def _describe(model: str, env: str | None, start: int | None, end: int, got: _Gathered) -> str:
    versions = sorted({int(v) for f in got.frames for v in f["_version"]})
    return (
        f"{model} v{', v'.join(map(str, versions))} predictions "
        f"{_window_text(start, end)}{f' in {env}' if env else ''}, "
        f"{got.labelled} of {got.predictions} labelled by feedback"
    )
