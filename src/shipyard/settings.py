"""Typed settings. The only module that reads the environment: env → shipyard.toml → defaults."""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.core.errors import ValidationError

__all__ = [
    "SERVING_AUTH_MODES",
    "STATE_DIR",
    "ServingSettings",
    "Settings",
    "find_project_dir",
    "load_settings",
]

STATE_DIR = ".shipyard"
CONFIG_FILE = "shipyard.toml"
SERVING_AUTH_MODES = ("none", "token")


@dataclass(frozen=True)
class ServingSettings:
    """``shipyard serve``: ``[serving]`` in shipyard.toml, ``SHIPYARD_SERVE_*`` variables."""

    env: str = "production"
    max_batch: int = 1024  # rows predicted together from concurrent requests
    max_wait_ms: float = 0.0  # extra wait for a fuller batch (0: batch only what is queued)
    max_models: int = 32  # loaded versions kept in memory (least recently used go first)
    pinned: tuple[str, ...] = ()  # models whose deployed versions are never evicted
    metrics_models: int = 100  # models with their own /metrics series; the rest: "_other"
    stats_s: float = 30.0  # figures of models without a rollout are written this often
    log_rows: int = 20_000  # a model version's buffered log rows written as one file
    # ... or once its oldest buffered row is this old: keep a [monitor] policy's delay (30 s
    # by default) above log_age_s + flush_s, or its windows miss rows still buffered
    log_age_s: float = 10.0
    compact_s: float = 600.0  # how often small prediction-log files are compacted (0: never)
    log_queue: int = 100_000  # prediction log rows buffered before new ones are dropped
    max_body_mb: float = 16.0
    poll_s: float = 0.5  # how often a replica checks for deployment changes
    flush_s: float = 2.0  # how often it writes its figures and prediction logs
    allow_pickle: bool = False  # serve pickle-based (python-pickle) model versions
    onnx: bool = True  # predict through a version's verified ONNX twin when it has one
    auth: str = "none"  # "token": every endpoint but /v2/health/* needs a project token
    rate_limit: str = ""  # e.g. "10/s" or "600/min" per client key; "" for no limit


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once at start-up."""

    project_dir: Path
    db_url: str
    artifacts_url: str
    storage_options: Mapping[str, object] = field(default_factory=dict)
    tracking_uri: str | None = None
    token: str | None = None
    auth: str = "local"  # "local": loopback requests without a token act as the local admin
    user: str | None = None
    release: Mapping[str, object] = field(default_factory=dict)
    data: Mapping[str, object] = field(default_factory=dict)  # [data.<dataset>] tables
    pii_key: str | None = None  # hex; the tokenization key shared by a team
    executor: str = "local"  # default pipeline executor: local | process | dask | ray
    dask_scheduler_address: str | None = None
    ray_address: str | None = None
    protected_environments: tuple[str, ...] = ("production",)
    serving: ServingSettings = field(default_factory=lambda: ServingSettings())
    monitor: Mapping[str, object] = field(default_factory=dict)  # [monitor.<model>] tables
    monitor_secrets: Mapping[str, str] = field(default_factory=dict)  # their secret_env values
    # False when no folder from the current one upwards holds shipyard.toml or .shipyard/ and
    # SHIPYARD_PROJECT_DIR was not set: the CLI then says so instead of creating a project.
    project_found: bool = True
    retrain: Mapping[str, object] = field(default_factory=dict)  # [retrain.<model>] tables
    # [retention] (parsed by garbage collection, which names any bad key); None: no table,
    # so `shipyard server` schedules no gc job
    retention: Mapping[str, object] | None = None

    @property
    def actor(self) -> str:
        """Who acts locally: ``SHIPYARD_USER``, else the login name."""
        return self.user or getpass.getuser()

    @property
    def pii_key_file(self) -> Path:
        """Where the embedded default keeps its tokenization key (outside the object store)."""
        return self.state_dir / "keys" / "pii.key"

    def data_checks(self, dataset: str) -> Mapping[str, object] | None:
        """The ``[data.<dataset>.checks]`` table, if the project declares one."""
        table = self.data.get(dataset)
        checks = table.get("checks") if isinstance(table, Mapping) else None
        return checks if isinstance(checks, Mapping) else None

    def data_pii(self, dataset: str) -> Mapping[str, object] | None:
        """The ``[data.<dataset>.pii]`` table: column → policy."""
        table = self.data.get(dataset)
        pii = table.get("pii") if isinstance(table, Mapping) else None
        return pii if isinstance(pii, Mapping) else None

    @property
    def state_dir(self) -> Path:
        return self.project_dir / STATE_DIR

    @property
    def is_remote(self) -> bool:
        return bool(self.tracking_uri and self.tracking_uri.startswith(("http://", "https://")))


def find_project_dir(start: Path) -> Path | None:
    """The nearest folder upwards holding ``shipyard.toml`` or ``.shipyard/`` (as git finds
    its repository); None outside any project."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / STATE_DIR).is_dir():
            return folder
    return None


def _read_toml(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ValidationError(f"{path} is not valid TOML: {e}", field=CONFIG_FILE) from e


def _storage_options(env: Mapping[str, str], toml_core: Mapping[str, object]) -> dict[str, object]:
    endpoint = env.get("SHIPYARD_S3_ENDPOINT_URL") or toml_core.get("s3_endpoint_url")
    if not endpoint:
        return {}
    return {"client_kwargs": {"endpoint_url": str(endpoint)}}


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Resolve settings from environment variables, then ``shipyard.toml``, then defaults."""
    env = os.environ if env is None else env
    explicit = env.get("SHIPYARD_PROJECT_DIR")
    start = Path(explicit or cwd or Path.cwd()).resolve()
    found = start if explicit else find_project_dir(start)
    project = found or start
    toml = _read_toml(project / CONFIG_FILE)
    core = toml.get("core", {})
    if not isinstance(core, dict):
        raise ValidationError("[core] in shipyard.toml must be a table", field="core")
    state = project / STATE_DIR
    auth = env.get("SHIPYARD_AUTH") or str(core.get("auth", "local"))
    if auth not in {"local", "token"}:
        raise ValidationError(
            f"SHIPYARD_AUTH must be 'local' or 'token', got {auth!r}", field="SHIPYARD_AUTH"
        )
    release = toml.get("release", {})
    data = toml.get("data", {})
    if not isinstance(data, dict):
        raise ValidationError("[data] in shipyard.toml must be a table", field="data")
    monitor, monitor_secrets = _monitor(env, toml.get("monitor", {}))
    retrain = toml.get("retrain", {})
    if not isinstance(retrain, dict):
        raise ValidationError("[retrain] in shipyard.toml must be a table", field="retrain")
    return Settings(
        project_dir=project,
        db_url=env.get("SHIPYARD_DB_URL")
        or str(core.get("db_url") or f"sqlite:///{state / 'shipyard.db'}"),
        artifacts_url=env.get("SHIPYARD_ARTIFACTS")
        or str(core.get("artifacts") or (state / "objects")),
        storage_options=_storage_options(env, core),
        tracking_uri=env.get("SHIPYARD_TRACKING_URI") or core.get("tracking_uri"),  # type: ignore[arg-type]
        token=env.get("SHIPYARD_TOKEN"),
        auth=auth,
        user=env.get("SHIPYARD_USER"),
        release=release if isinstance(release, dict) else {},
        data=data,
        pii_key=env.get("SHIPYARD_PII_KEY"),
        executor=env.get("SHIPYARD_EXECUTOR") or str(core.get("executor", "local")),
        dask_scheduler_address=env.get("DASK_SCHEDULER_ADDRESS") or None,
        ray_address=env.get("RAY_ADDRESS") or None,
        protected_environments=_protected(env, core),
        serving=_serving(env, toml.get("serving", {})),
        monitor=monitor,
        monitor_secrets=monitor_secrets,
        project_found=found is not None,
        retrain=retrain,
        retention=_retention(toml),
    )


def _retention(toml: Mapping[str, object]) -> Mapping[str, object] | None:
    if "retention" not in toml:
        return None
    table = toml["retention"]
    if not isinstance(table, dict):
        raise ValidationError("[retention] in shipyard.toml must be a table", field="retention")
    return table


def _monitor(env: Mapping[str, str], table: object) -> tuple[dict[str, object], dict[str, str]]:
    """The ``[monitor]`` tables (parsed by the monitor runner, which names any bad key) and
    the webhook secrets of the environment variables they name."""
    if not isinstance(table, dict):
        raise ValidationError("[monitor] in shipyard.toml must be a table", field="monitor")
    names = {
        spec["alerts"].get("secret_env")
        for spec in table.values()
        if isinstance(spec, dict) and isinstance(spec.get("alerts"), dict)
    }
    secrets = {n: env[n] for n in names if isinstance(n, str) and env.get(n)}
    return table, secrets


def _protected(env: Mapping[str, str], core: Mapping[str, object]) -> tuple[str, ...]:
    raw = env.get("SHIPYARD_PROTECTED_ENVIRONMENTS")
    value: object = raw.split(",") if raw is not None else core.get("protected_environments")
    if value is None:
        return ("production",)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            "protected_environments must be a list of environment names",
            field="protected_environments",
        )
    return tuple(v.strip() for v in value if v.strip())


_SERVING_TYPES = {
    f: type(getattr(ServingSettings(), f)) for f in ServingSettings.__dataclass_fields__
}


def _flag(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in {"1", "0", "true", "false", "yes", "no"}:
        raise ValueError(text)
    return text in {"1", "true", "yes"}


def _serving(env: Mapping[str, str], table: object) -> ServingSettings:
    if not isinstance(table, dict):
        raise ValidationError("[serving] in shipyard.toml must be a table", field="serving")
    values: dict[str, object] = {}
    for name, kind in _SERVING_TYPES.items():
        raw = env.get(f"SHIPYARD_SERVE_{name.upper()}", table.get(name))
        if raw is None:
            continue
        try:
            value = _flag(raw) if kind is bool else _names(raw) if kind is tuple else kind(raw)
        except (TypeError, ValueError):
            raise ValidationError(
                f"serving {name} must be a "
                f"{'list of model names' if kind is tuple else kind.__name__}, got {raw!r}",
                field=name,
            ) from None
        if kind in (int, float) and value < 0:  # type: ignore[operator]
            raise ValidationError(f"serving {name} must not be negative", field=name)
        values[name] = value
    _check_serving_access(values)
    _check_pins(values)
    return ServingSettings(**values)  # type: ignore[arg-type]


def _names(raw: object) -> tuple[str, ...]:
    """A list of names: a TOML list of strings, or a comma-separated variable."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise TypeError(raw)
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def _check_pins(values: dict[str, object]) -> None:
    pinned = values.get("pinned", ())
    cap = values.get("max_models", ServingSettings.max_models)
    if isinstance(pinned, tuple) and isinstance(cap, int) and len(pinned) >= max(cap, 1):
        raise ValidationError(
            f"serving pinned names {len(pinned)} model(s) but max_models is {cap}; pin fewer "
            "models than --max-models so that other models can still be loaded",
            field="pinned",
        )


def _check_serving_access(values: dict[str, object]) -> None:
    from shipyard.core.rate_limit import parse_rate

    auth = str(values.get("auth", "none")).strip().lower()
    if auth not in SERVING_AUTH_MODES:
        raise ValidationError(
            f"serving auth (--auth) must be one of {', '.join(SERVING_AUTH_MODES)}, got {auth!r}",
            field="auth",
        )
    values["auth"] = auth
    rate = str(values.get("rate_limit", "")).strip()
    if rate and rate.lower() not in ("0", "none", "off"):
        values["rate_limit"] = str(parse_rate(rate, label="serving rate_limit (--rate-limit)"))
    else:
        values["rate_limit"] = ""
