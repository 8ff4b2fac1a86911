"""``shipyard monitor run`` and ``shipyard monitor alerts [ack|resolve|show]``: compute the
due windows of the monitored models, and list, acknowledge and resolve their alerts."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.interfaces.cli.common import JSON_OPT, acting_user, console, print_json, services
from shipyard.interfaces.cli.common import table as print_table

__all__ = ["alerts_app", "run_cmd"]

alerts_app = typer.Typer(
    help="Alerts of the monitors: list them; ack or resolve one (deployer or higher).",
    invoke_without_command=True,
)

MODEL_OPT = typer.Option(None, "--model", "-m", help="Only this model.")
REASON_OPT = typer.Option("", "--reason", "-r", help="Kept in the audit trail.")
ID_ARG = typer.Argument(..., help="The alert id (see `shipyard monitor alerts`).")


def run_cmd(
    model: str | None = MODEL_OPT,
    once: bool = typer.Option(
        False, "--once", help="Run one pass and exit (else repeat every schedule until Ctrl-C)."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Compute every due window of the monitored models, judge the rules, change and deliver
    alerts. Computed windows are never computed again, so this is safe to run from cron."""
    from shipyard.interfaces.presenters.alerts import window_json

    svc = services()
    try:
        report = svc.monitor_runner.run(model=model, once=once)
    finally:
        svc.close()
    events = [e.__dict__ for e in report.events]
    if as_json:
        print_json(
            {
                "windows": [window_json(w) for w in report.windows],
                "events": events,
                "deliveries": report.deliveries.__dict__,
                "errors": report.errors,
            }
        )
    else:
        _print_run(report, events)
    if report.errors:
        for error in report.errors:
            console(stderr=True).print(f"error: {error}", highlight=False)
        raise typer.Exit(1)


def _print_run(report: Any, events: list[dict[str, Any]]) -> None:
    rows = [
        [w.env, w.model, f"v{w.version}", format_ms(w.start), w.status.value, w.rows,
         ", ".join(r for r, v in w.verdicts.items() if v) or "-"]
        for w in report.windows
    ]  # fmt: skip
    print_table("Windows computed", ["env", "model", "version", "window", "status", "rows",
                                     "fired"], rows)  # fmt: skip
    for e in events:
        console().print(
            f"alert {e['alert_id']} {e['event']}: {e['rule']} ({e['env']}/{e['model']})"
        )
    d = report.deliveries
    console().print(
        f"{len(report.windows)} windows computed; webhooks: {d.delivered} delivered, "
        f"{d.retrying} to retry, {d.failed} given up"
    )


@alerts_app.callback()
def list_alerts(
    ctx: typer.Context,
    model: str | None = MODEL_OPT,
    env: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    status: str | None = typer.Option(
        None, "--status", "-s", help="open | acknowledged | resolved."
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000, help="How many to show."),
    as_json: bool = JSON_OPT,
) -> None:
    """List alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from shipyard.interfaces.presenters.alerts import alert_json

    svc = services()
    try:
        page = svc.alerts.alerts(model=model, env=env, status=status, limit=limit)
    finally:
        svc.close()
    found = [alert_json(a) for a in page.items]
    if as_json:
        print_json({"alerts": found, "total": page.total})
        return
    print_table(
        "Alerts",
        ["id", "status", "env", "model", "rule", "fired", "last window", "by"],
        [
            [a["id"], a["status"], a["environment"], a["model"], a["rule"], a["fired"],
             format_ms(a["last_window"]), a["resolved_by"] or a["acknowledged_by"]]
            for a in found
        ],
        wrap="rule",
        fixed={"env": env, "model": model},
    )  # fmt: skip
    console().print(f"showing {len(found)} of {page.total}")


@alerts_app.command("show")
def show(alert_id: int = ID_ARG, as_json: bool = JSON_OPT) -> None:
    """One alert and its deliveries (attempts, answers, next retry)."""
    from shipyard.interfaces.presenters.alerts import alert_json, delivery_json

    svc = services()
    try:
        alert, deliveries = svc.alerts.get(alert_id), svc.alerts.deliveries(alert_id)
    finally:
        svc.close()
    out: dict[str, Any] = {
        "alert": alert_json(alert),
        "deliveries": [delivery_json(d) for d in deliveries],
    }
    if as_json:
        print_json(out)
        return
    a = out["alert"]
    console().print(f"alert {a['id']} [bold]{a['status']}[/]: {a['rule']}", highlight=False)
    console().print(f"{a['environment']}/{a['model']} v{a['version']}, fired {a['fired']}x")
    print_table(
        "Deliveries",
        ["id", "sink", "event", "attempt", "status", "code", "next retry", "error"],
        [
            [d["id"], d["sink"], d["event"], d["attempt"], d["status"], d["response_code"],
             format_ms(d["next_retry"]), (d["error"] or "")[:60]]
            for d in out["deliveries"]
        ],
    )  # fmt: skip


def _change(alert_id: int, reason: str, as_json: bool, action: str) -> None:
    from shipyard.interfaces.presenters.alerts import alert_json

    svc = services()
    try:
        user = acting_user(svc, "deployer")
        change = svc.alerts.acknowledge if action == "ack" else svc.alerts.resolve
        done = alert_json(change(alert_id, user, reason))
    finally:
        svc.close()
    if as_json:
        print_json(done)
        return
    console().print(f"alert {done['id']} is {done['status']} ({done['rule']})", highlight=False)


@alerts_app.command("ack")
def ack(alert_id: int = ID_ARG, reason: str = REASON_OPT, as_json: bool = JSON_OPT) -> None:
    """Acknowledge an open alert (deployer or higher)."""
    _change(alert_id, reason, as_json, "ack")


@alerts_app.command("resolve")
def resolve(alert_id: int = ID_ARG, reason: str = REASON_OPT, as_json: bool = JSON_OPT) -> None:
    """Resolve an open or acknowledged alert (deployer or higher)."""
    _change(alert_id, reason, as_json, "resolve")
