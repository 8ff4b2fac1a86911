"""The CI workflow files ``shipyard ci init`` writes: GitHub Actions and GitLab CI.

Every push installs the project and runs, in order, the training pipeline (exit 1 when a
step fails), the registration of its model (exit 2 when the run holds none) and the release
gates (exit 1 when a gate fails); each failure fails the job, so nothing after it runs. On
the default branch the gated version is then deployed to an unprotected environment.
One run per model at a time (``concurrency`` / ``resource_group``): ``latest`` then names
the version this run registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["PROVIDERS", "CiPlan", "render"]

PROVIDERS = {"github": ".github/workflows/shipyard.yml", "gitlab": ".gitlab-ci.yml"}
_SECRETS = ("SHIPYARD_DB_URL", "SHIPYARD_ARTIFACTS", "SHIPYARD_PII_KEY")


@dataclass(frozen=True)
class CiPlan:
    """What the workflow runs: the model, its training pipeline, the install command, the
    environment a push to the default branch deploys to, and the CI identity."""

    model: str
    pipeline: str
    install: str
    env: str = "staging"
    user: str = "shipyard-ci"
    python: str = "3.12"

    def commands(self, sha_variable: str) -> list[tuple[str, str]]:
        """(name, shell command) of each step, the deployment last."""
        return [
            ("Install the project", self.install),
            ("Open the Shipyard project", "shipyard init ."),
            ("Run the training pipeline", f"shipyard pipeline run {_sh(self.pipeline)}"),
            ("Register the trained model", f"shipyard models register {self.model} --run latest"),
            ("Run the release gates", f"shipyard gate {self.model} latest"),
            (
                f"Deploy to {self.env}",
                f"shipyard deploy {self.model} latest --env {self.env} "
                f'--reason "CI: commit ${sha_variable}"',
            ),
        ]


def _sh(word: str) -> str:
    """A word as a shell reads it back (quoted only when it needs to be)."""
    import shlex

    return shlex.quote(word)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def _header(plan: CiPlan, provider: str) -> list[str]:
    where = "repository secrets" if provider == "github" else "CI/CD variables"
    return [
        f"# Written by `shipyard ci init {provider}`. On every push: install the project, run the",
        f"# training pipeline {plan.pipeline}, register its model as the next version of",
        f"# {plan.model}, run the release gates of [release.{plan.model}] (a failing step fails",
        f"# the job: nothing after it runs); on the default branch, deploy it to {plan.env}.",
        f"# The project's state: set {', '.join(_SECRETS[:2])} ({where}) to the team's",
        "# metadata database and object store (else each run starts an empty local project);",
        f"# {plan.user} must be a deployer there: shipyard users add {plan.user} --role deployer",
    ]


def _github(plan: CiPlan) -> str:
    lines = [
        *_header(plan, "github"),
        "name: shipyard",
        '"on":',
        "  push:",
        "  workflow_dispatch:",
        "concurrency:",
        f"  group: shipyard-{plan.model}",
        "  cancel-in-progress: false",
        "jobs:",
        "  train-gate-deploy:",
        "    runs-on: ubuntu-latest",
        "    env:",
        f"      SHIPYARD_USER: {_q(plan.user)}",
        *[f"      {name}: ${{{{ secrets.{name} }}}}" for name in _SECRETS],
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: {_q(plan.python)}",
    ]
    steps = plan.commands("GITHUB_SHA")
    for name, command in steps[:-1]:
        lines += [f"      - name: {_q(name)}", f"        run: {_q(command)}"]
    name, command = steps[-1]
    lines += [
        f"      - name: {_q(name)}",
        "        if: github.ref_name == github.event.repository.default_branch",
        f"        run: {_q(command)}",
    ]
    return "\n".join(lines) + "\n"


def _gitlab(plan: CiPlan) -> str:
    steps = plan.commands("CI_COMMIT_SHA")
    train = [f"    - {_q(command)}" for _, command in steps[2:-1]]
    lines = [
        *_header(plan, "gitlab"),
        "stages:",
        "  - train",
        "  - deploy",
        "variables:",
        f"  SHIPYARD_USER: {_q(plan.user)}",
        "",
        ".shipyard:",
        f"  image: {_q('python:' + plan.python)}",
        f"  resource_group: {_q('shipyard-' + plan.model)}",
        "  before_script:",
        *[f"    - {_q(command)}" for _, command in steps[:2]],
        "",
        "train:",
        "  extends: .shipyard",
        "  stage: train",
        "  rules:",
        "    - if: $CI_COMMIT_BRANCH != $CI_DEFAULT_BRANCH",
        "  script:",
        *train,
        "",
        f"train-and-deploy-{plan.env}:",
        "  extends: .shipyard",
        "  stage: deploy",
        f"  environment: {_q(plan.env)}",
        "  rules:",
        "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "  script:",
        *train,
        f"    - {_q(steps[-1][1])}",
    ]
    return "\n".join(lines) + "\n"


def render(provider: str, plan: CiPlan) -> str:
    """The workflow file's text for ``provider`` (github or gitlab)."""
    return _github(plan) if provider == "github" else _gitlab(plan)
