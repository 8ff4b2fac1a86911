"""``shipyard retrain MODEL`` (``--dry-run``, ``--resume``) and ``shipyard retrain history
MODEL``: continuous training by the ``[retrain.<model>]`` policy in shipyard.toml."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.core.clock import format_ms
from shipyard.core.permissions import Action
from shipyard.interfaces.cli.common import JSON_OPT, acting_user, console, print_json, services
from shipyard.interfaces.cli.common import table as _table

__all__ = ["retrain"]

_STYLE = {"deployed": "green", "failed": "red", "refused": "red", "skipped": "yellow"}
_EXPLAINED = ("failed", "refused", "skipped", "awaiting_approval")  # the reason says why


def retrain(
    model: str = typer.Argument(
        ..., help="The model whose \\[retrain.<model>] policy to run, or 'history'."
    ),
    history_of: str | None = typer.Argument(
        None, metavar="[MODEL]", help="With 'history': the model whose runs to list."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would run and why; change nothing."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the model's stalled run or its last failed one."
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000, help="History rows."),
    as_json: bool = JSON_OPT,
) -> None:
    """Retrain a model now: its pipeline on the newest data, register, gates against the
    champion on the newest holdout, approval, rollout (a deployer runs it).

    `shipyard retrain history MODEL` lists the model's runs, newest first,
    one row each with its chain: trigger → pipeline run → version → gates →
    approval → deployment → outcome. `--json` adds every link of the chain
    and the run's ledger timeline.
    """
    svc = services()
    try:
        if model == "history" and history_of is not None:
            _history(svc, history_of, limit, as_json)
            return
        if history_of is not None:
            raise typer.BadParameter(
                f"unexpected {history_of!r}; did you mean `shipyard retrain history {history_of}`?"
            )
        svc.retraining.policy(model)  # a missing or malformed policy names itself first
        user = acting_user(svc, "deployer")
        if dry_run:
            _plan(svc.retraining.plan(model, user=user.name), as_json)
            return
        svc.access.authorize(user, Action.RETRAIN)  # a dry run only reads
        if resume:
            _done("resumed", svc.retraining.resume(model, user=user.name), "", as_json)
            return
        started = svc.retraining.retrain(model, user=user.name)
        _done(started.event, started.run, started.reason, as_json)
    finally:
        svc.close()


def _done(event: str, run: Any, reason: str, as_json: bool) -> None:
    from shipyard.interfaces.presenters.retraining import run_json

    shown = None if run is None else run_json(run)
    if as_json:
        print_json({"event": event, "reason": reason, "run": shown})
    elif shown is None:
        console().print(f"[yellow]{event}[/]: {reason}")
    else:
        style = _STYLE.get(shown["state"], "cyan")
        console().print(
            f"retraining run {shown['id']} of {shown['model']} {event}: "
            f"[{style}]{shown['state']}[/] {shown['reason'] or reason}"
        )
        if shown["version"] is not None:
            console().print(f"  version {shown['register_as']}@v{shown['version']}")
    if shown is not None and shown["state"] in ("failed", "refused"):
        raise typer.Exit(1)


def _plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(plan)
        return
    out = console()
    verdict = "[green]would run[/]" if plan["would_run"] else "[yellow]would not run now[/]"
    out.print(f"retraining of {plan['model']}: {verdict} (dry run, nothing changed)")
    for blocker in plan["blockers"]:
        out.print(f"  - {blocker}")
    out.print(f"  triggers: {', '.join(plan['triggers']) or 'by hand only'}")
    for step in plan["steps"]:
        details = ", ".join(f"{k}={v}" for k, v in step.items() if k != "step")
        out.print(f"  {step['step']}: {details}")


def _history(svc: Any, model: str, limit: int, as_json: bool) -> None:
    """One row per run: when, its state and its chain (trigger → pipeline run → version →
    gates → approval → deployment → outcome); ``--json`` adds each run's full chain."""
    from rich.text import Text

    from shipyard.interfaces.presenters.retraining import run_json
    from shipyard.services.registry.retrain_chain import Ledger, chain_line, run_chain

    svc.retraining.policy(model)
    page = svc.retraining.runs(model, None, limit)
    ledger = Ledger(svc.audit)
    chains = [run_chain(r, ledger) for r in page.items]
    for chain in chains:
        chain["line"] = chain_line(chain)
    if as_json:
        runs = [{**run_json(r), "chain": c} for r, c in zip(page.items, chains, strict=True)]
        print_json({"runs": runs, "total": page.total})
        return
    rows = []
    for c in chains:
        why = f" ({c['reason']})" if c["state"] in _EXPLAINED and c["reason"] else ""
        style = _STYLE.get(c["state"], "cyan")
        rows.append([c["id"], format_ms(c["created"]), Text(c["state"], style=style),
                     c["line"] + why])  # fmt: skip
    _table(
        f"Retraining runs of {model}, newest first (showing {len(chains)} of {page.total})",
        ["run", "started", "state", "chain: trigger → run → version → gates → approval → deploy"],
        rows,
        wrap="chain: trigger → run → version → gates → approval → deploy",
    )  # fmt: skip
