"""``shipyard ci init github|gitlab``: write the CI workflow that trains, registers, gates
and (on the default branch) deploys a model on every push (``ci_workflows``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from shipyard.core.errors import AlreadyExistsError, ValidationError
from shipyard.interfaces.cli.ci_workflows import PROVIDERS, CiPlan, render
from shipyard.interfaces.cli.common import JSON_OPT, console, print_json, require_project

__all__ = ["ci_app"]

ci_app = typer.Typer(help="Continuous integration: workflow files for CI services.")


@ci_app.callback(no_args_is_help=True)
def _group() -> None:
    """Continuous integration: workflow files for CI services."""


@ci_app.command("init")
def init(
    provider: str = typer.Argument(..., help="github (Actions) or gitlab (GitLab CI)."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="The model to train (default: the one [release.<model>])."
    ),
    pipeline: str | None = typer.Option(
        None,
        "--pipeline",
        help="Its training pipeline as module:function (default: [retrain.<model>] pipeline).",
    ),
    env: str = typer.Option("staging", "--env", "-e", help="Where the default branch deploys."),
    install: str | None = typer.Option(
        None, "--install", help="The install command (default: from pyproject / requirements)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing workflow file."),
    as_json: bool = JSON_OPT,
) -> None:
    """Write .github/workflows/shipyard.yml or .gitlab-ci.yml: on every push, install the
    project, run the training pipeline, register its model and run the release gates (any
    failure fails the job); on the default branch, deploy the gated version to --env."""
    from shipyard.core.models import check_model_name
    from shipyard.settings import load_settings

    if provider not in PROVIDERS:
        raise ValidationError(
            f"CI provider {provider!r} is not one of: {', '.join(PROVIDERS)}", field="provider"
        )
    settings = require_project(load_settings())
    root = settings.project_dir
    name = check_model_name(model) if model else _only_model(settings.release)
    _check_policy(name, settings.release)
    _check_env(env, settings.protected_environments)
    plan = CiPlan(
        model=name,
        pipeline=_pipeline(pipeline, name, settings.retrain),
        install=install or _install(root),
        env=env,
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
    )
    path = root / PROVIDERS[provider]
    if path.exists() and not force:
        raise AlreadyExistsError(
            f"{PROVIDERS[provider]} exists; pass --force to overwrite it", field="force"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(provider, plan))
    if as_json:
        print_json({"provider": provider, "path": PROVIDERS[provider], **plan.__dict__})
        return
    console().print(
        f"[green]wrote[/] {PROVIDERS[provider]}: {plan.pipeline} → register {name} → gates "
        f"→ deploy to {env} on the default branch; commit it to turn it on"
    )


def _only_model(release: Any) -> str:
    names = sorted(release)
    if len(names) == 1:
        return str(names[0])
    found = f"several ({', '.join(names)})" if names else "none"
    raise ValidationError(
        f"shipyard.toml has {found} of [release.<model>]; name the model with --model",
        field="model",
    )


def _check_policy(model: str, release: Any) -> None:
    from shipyard.services.registry.policy import parse_policy

    if model not in release:
        raise ValidationError(
            f"shipyard.toml has no [release.{model}]: the gate step needs its gates and "
            "holdout; add them, then run shipyard ci init again",
            field="model",
        )
    policy = parse_policy(model, release)
    if not policy.holdout or not policy.gates:
        raise ValidationError(
            f"[release.{model}] needs a holdout and gates for CI to gate on", field="model"
        )


def _check_env(env: str, protected: tuple[str, ...]) -> None:
    from shipyard.core.deployments import check_environment

    check_environment(env)
    if env in protected:
        raise ValidationError(
            f"{env} is a protected environment: it takes approved versions only, so CI "
            "deploys to an unprotected one (e.g. staging) and an approver promotes",
            field="env",
        )


def _pipeline(given: str | None, model: str, retrain: Mapping[str, object]) -> str:
    target = given
    if target is None:
        table = retrain.get(model)
        target = table.get("pipeline") if isinstance(table, Mapping) else None
    module, _, function = str(target or "").partition(":")
    if not module or not function:
        raise ValidationError(
            "name the training pipeline with --pipeline module:function (e.g. "
            f"training:pipeline), got {target!r}",
            field="pipeline",
        )
    return str(target)


def _install(root: Path) -> str:
    if (root / "pyproject.toml").is_file():
        return "pip install -e ."
    if (root / "requirements.txt").is_file():
        return "pip install -r requirements.txt"
    return "pip install shipyard"
