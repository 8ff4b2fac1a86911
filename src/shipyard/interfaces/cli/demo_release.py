"""The sample project's release: the pipeline's model goes into the registry, through the
release policy's gates on a held-out dataset version, and is approved by a second user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.interfaces.cli.demo_pipeline import FEATURES, TARGET

__all__ = ["MODEL", "POLICY", "release"]

MODEL = "diabetes-progression"
HOLDOUT = "diabetes-holdout"
APPROVER = "carol"
POLICY = f"""
[release.{MODEL}]
holdout = "{HOLDOUT}@latest"
target = "{TARGET}"
gates = [
  {{ metric = "roc_auc", min = 0.75 }},
  {{ metric = "accuracy", min = 0.65 }},
  {{ vs_champion = "roc_auc", max_drop = 0.01 }},
  {{ fairness = "demographic_parity_difference", sensitive = "sex", max = 0.3 }},
  {{ latency_p99_ms = 250 }},  # generous: a busy shared machine, not a serving SLO
  {{ data_checks = "diabetes" }},
]

[release.{MODEL}.deploy]
strategy = "canary"
steps = [20, 50, 100]
rollback_if = "error_rate > 0.05 or p99_ms > 250 or roc_auc < live_roc_auc - 0.1"
min_labels = 50          # labelled predictions of each version before quality is judged
promote_after = "40 requests"   # at each step, while the rule holds
"""


def release(services: Any, result: Any, say: Callable[[str], None]) -> None:
    """Register, gate, approve and crown the pipeline's model, then the serving, monitoring
    and retraining scenes; ``say`` prints each line as it happens."""
    from shipyard.core.entities import Role
    from shipyard.core.errors import NotFoundError

    holdout = result.output("prepare")[1]
    data = services.catalog.register(
        HOLDOUT,
        holdout,
        user=services.settings.actor,
        description="The pipeline's held-out rows, labelled (no contact columns)",
    )
    services.catalog.validate(
        data.ref, {"columns": {"age": {"min": 18, "nullable": False}}}, user=services.settings.actor
    )
    train_run = services.pipelines.latest_executions(result.run_id)[("train_final", None)]
    source = train_run.cached_from or train_run.run_id  # where the model was really fitted
    model = result.output("train_final")
    version = services.registry.log_model(
        model,
        MODEL,
        user=services.settings.actor,
        run_id=source,
        input_example=holdout[list(FEATURES)].head(),
        description="Fast disease progression",
    )
    report = services.registry.run_gates(
        version.ref, services.settings.release, user=services.settings.actor
    )
    say(_gates_line(version.ref, report))
    if not report["passed"]:
        return
    try:
        approver = services.access.get_user(APPROVER)
    except NotFoundError:
        approver = services.access.add_user(APPROVER, Role.APPROVER, actor="demo")
    services.registry.decide(
        version.ref, approver, approve=True, reason="gates passed on the held-out rows"
    )
    services.registry.set_alias(
        version.ref, "champion", user=APPROVER, reason="first approved version"
    )
    say(
        f"{version.ref} approved by {APPROVER} (separation of duties) and aliased "
        f"[bold]champion[/]: /ui/models/{MODEL}"
    )
    say(f"Dossier for auditors: {_write_dossier(services, version.ref)}")
    challenger = _challenger(services, result, approver, say)
    _scenes(services, result, [v for v in (version, challenger) if v is not None], approver, say)


def _scenes(
    services: Any, result: Any, versions: list[Any], approver: Any, say: Callable[[str], None]
) -> None:
    """Serving (the champion live, the challenger as a canary), monitoring and retraining;
    the webhook receiver listens through the last two (the alert, then the approval notice)."""
    from shipyard.interfaces.cli.demo_monitoring import hook_receiver, watch
    from shipyard.interfaces.cli.demo_retrain import retrain_scene
    from shipyard.interfaces.cli.demo_serving import rollout, serve_url

    train, holdout = result.output("prepare")
    challenger = versions[1] if len(versions) > 1 else None
    for line in rollout(services, MODEL, versions[0], challenger, holdout):
        say(line)
    with hook_receiver() as received:
        for line in watch(services, MODEL, versions, (train, holdout), serve_url(), received):
            say(line)
        retrain_scene(services, MODEL, holdout, serve_url(), approver, say, received)


def _challenger(services: Any, result: Any, approver: Any, say: Callable[[str], None]) -> Any:
    """A second version (stronger regularisation), gated and approved; None if it fails."""
    from shipyard.interfaces.cli.demo_pipeline import make_model

    tracking, actor = services.tracking, services.settings.actor
    train = result.output("prepare")[0]
    parent = tracking.get_run(result.run_id)  # its lineage: the pipeline run read the data
    run = tracking.create_run(
        parent.info.experiment_id, run_name="challenger", user=actor, parent_run_id=result.run_id
    )
    model = make_model(0.2).fit(train[list(FEATURES)], train[TARGET])
    version = services.registry.log_model(
        model,
        MODEL,
        user=actor,
        run_id=run.info.run_id,
        input_example=train[list(FEATURES)].head(),
        description="Challenger: C=0.2",
    )
    tracking.update_run(run.info.run_id, status="FINISHED")
    report = services.registry.run_gates(
        version.ref, services.settings.release, user=services.settings.actor
    )
    say(_gates_line(version.ref, report))
    if not report["passed"]:
        return None
    services.registry.set_alias(version.ref, "challenger", user=APPROVER, reason="canary next")
    return services.registry.decide(
        version.ref, approver, approve=True, reason="gates passed; canary first"
    )


def _write_dossier(services: Any, ref: str) -> str:
    """The self-contained evidence report of the version, in the project folder."""
    from shipyard.interfaces.bootstrap import dossier_builder
    from shipyard.interfaces.dossier_html import render_dossier

    data = dossier_builder(services).build(ref)
    path = services.settings.project_dir / f"dossier-{MODEL}-v{data['model']['version']}.html"
    path.write_text(render_dossier(data), encoding="utf-8")
    return str(path)


def _gates_line(ref: str, report: dict[str, Any]) -> str:
    parts = []
    for gate in report["gates"]:
        value = gate.get("value")
        shown = f"{value:.3g}" if isinstance(value, float) else "ok"
        if gate.get("kind") == "vs_champion" and isinstance(gate.get("drop"), float):
            shown = f"drop {gate['drop']:+.3f}"  # the AUC lost against the champion
        parts.append(f"{gate['gate']} {shown}{'' if gate['passed'] else ' FAIL'}")
    verdict = "[green]gates passed[/]" if report["passed"] else "[red]gates failed[/]"
    return f"{ref}: {verdict} on {report['holdout']} ({'; '.join(parts)})"
