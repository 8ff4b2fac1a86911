"""``shipyard monitor export MODEL --since 7d [--labelled]``: production data into training
data (logged predictions joined with their true labels, registered as a dataset version)."""

from __future__ import annotations

import typer

from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, services

__all__ = ["export_cmd"]


def export_cmd(
    model: str = typer.Argument(..., help="The registered model whose predictions to export."),
    since: str = typer.Option(
        ..., "--since", help="Start: a duration back from now (1h, 7d), epoch ms or ISO time."
    ),
    until: str | None = typer.Option(None, "--until", help="End (exclusive); default now."),
    env: str | None = typer.Option(None, "--env", help="One environment only (default: all)."),
    labelled: bool = typer.Option(
        False, "--labelled", help="Only the predictions that have a true label."
    ),
    name: str | None = typer.Option(
        None, "--name", help="The dataset to add a version to (default: MODEL-feedback)."
    ),
    mix_with: str | None = typer.Option(
        None, "--mix-with", help="A table version to put first, e.g. loans@latest (same columns)."
    ),
    target: str | None = typer.Option(
        None,
        "--target",
        help="The label column's name (default: the training data's, else 'label').",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Register the logged predictions of a window, with their true labels in the target
    column, as a new dataset version (the PII policy and checks of [data.NAME] apply)."""
    from shipyard.core.clock import now_ms
    from shipyard.interfaces.presenters.monitoring_feedback import parse_time

    now = now_ms()
    start, end = parse_time(since, "since", now), parse_time(until, "until", now)
    svc = services()
    result = svc.export.run(
        model,
        since_ms=start,
        until_ms=end,
        labelled=labelled,
        user=svc.settings.actor,
        env=env,
        name=name,
        mix_with=mix_with,
        target=target,
    )
    if as_json:
        print_json(result.to_dict())
        return
    state = "[green]registered[/]" if result.created else "[yellow]unchanged, already[/]"
    mixed = f" after {result.rows - result.production} rows of {result.mixed_with}"
    console().print(
        f"{state} [bold]{result.ref}[/]: {result.production} predictions of {model} "
        f"({result.labelled} of {result.predictions} labelled) with the label in "
        f"{result.target!r}" + (mixed if result.mixed_with else "")
    )
    if result.validation is not None:
        verdict = "passed" if result.validation["passed"] else "[red]failed[/]"
        console().print(f"checks of [data.{result.ref.split('@')[0]}] {verdict}")
