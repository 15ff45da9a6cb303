"""What the assembly deploys: the environment's stacks, every stack sharing its account, and the
bootstrap version each region must have.

Environments that deploy into the same account share its quotas in every region they both use
(us-east-1 at least, where every edge stack lives): their demands are summed. `make preflight`
synthesises every environment of the account for that reason (`sharing_environments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config import EnvironmentConfig, load_environments
from config.loader import ENVIRONMENT_NAMES
from tools.cloud_assembly import AssemblyError, AssemblyStack, read_stacks
from tools.compliance_report import stack_artifacts

#: The SSM parameter the CDK CLI reads the bootstrap version from, when a manifest names none.
DEFAULT_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


@dataclass(frozen=True)
class BootstrapRequirement:
    region: str
    version: int
    parameter: str

    @property
    def qualifier(self) -> str:
        parts = self.parameter.strip("/").split("/")
        return parts[1] if len(parts) == 3 and parts[0] == "cdk-bootstrap" else "?"


@dataclass(frozen=True)
class Deployment:
    """The environment `config` as the assembly deploys it, with the stacks that share its account."""

    config: EnvironmentConfig
    stacks: tuple[AssemblyStack, ...]
    #: Every stack of the assembly in the same account, this environment's included.
    account_stacks: tuple[AssemblyStack, ...]
    bootstrap: tuple[BootstrapRequirement, ...]
    #: Environments whose config names the same account but which the assembly lacks.
    missing_sharers: tuple[str, ...]

    @property
    def account(self) -> str:
        return self.config.account

    @property
    def regions(self) -> tuple[str, ...]:
        """The environment's regions: main region first, then the others in the assembly's order."""
        ordered = [self.config.region, *(s.region for s in self.stacks)]
        return tuple(dict.fromkeys(ordered))

    def stacks_in(self, region: str, *, shared: bool = True) -> list[AssemblyStack]:
        pool = self.account_stacks if shared else self.stacks
        return [stack for stack in pool if stack.region == region]

    def stack(self, resource_type: str) -> AssemblyStack | None:
        """The environment's (first) stack that declares a resource of `resource_type`."""
        for stack in self.stacks:
            if any(r.get("Type") == resource_type for r in stack.template.get("Resources", {}).values()):
                return stack
        return None

    def environments_in(self, region: str) -> list[str]:
        return sorted({stack.environment for stack in self.stacks_in(region)})


def sharing_environments(name: str) -> list[str]:
    """`name` and every other environment whose config deploys into the same account."""
    configs: dict[str, EnvironmentConfig] = {c.name: c for c in load_environments(list(ENVIRONMENT_NAMES))}
    account = configs[name].account
    return [name, *(other for other, config in configs.items() if other != name and config.account == account)]


def read_deployment(config: EnvironmentConfig, outdir: Path) -> Deployment:
    """The environment's part of the assembly in `outdir`; AssemblyError when it is not there."""
    stacks = read_stacks(outdir)
    own = tuple(stack for stack in stacks if stack.environment == config.name)
    if not own:
        present = sorted({stack.environment for stack in stacks})
        raise AssemblyError(
            f"{outdir} holds no stacks of {config.name} (it holds {', '.join(present)}): "
            f"synthesise it first (make preflight ENV={config.name} does)"
        )
    wrong = sorted({stack.account for stack in own} - {config.account})
    if wrong:
        raise AssemblyError(
            f"{outdir} was synthesised for account {', '.join(wrong)}, but config/{config.name}.toml names "
            f"{config.account}: synthesise again"
        )
    account_stacks = tuple(stack for stack in stacks if stack.account == config.account)
    synthesised = {stack.environment for stack in account_stacks}
    missing = tuple(name for name in sharing_environments(config.name) if name not in synthesised)
    return Deployment(
        config=config,
        stacks=own,
        account_stacks=account_stacks,
        bootstrap=_bootstrap_requirements(outdir, config.name),
        missing_sharers=missing,
    )


def _bootstrap_requirements(outdir: Path, environment: str) -> tuple[BootstrapRequirement, ...]:
    """Per region: the highest bootstrap version any of the environment's stacks requires."""
    needed: dict[tuple[str, str], int] = {}
    for stage, _, artifact in stack_artifacts(outdir):
        if stage.lower() != environment:
            continue
        properties = artifact.get("properties", {})
        version = properties.get("requiresBootstrapStackVersion")
        if version is None:
            continue
        region = str(artifact.get("environment", "")).rpartition("/")[2]
        parameter = str(properties.get("bootstrapStackVersionSsmParameter") or DEFAULT_BOOTSTRAP_PARAMETER)
        needed[(region, parameter)] = max(int(version), needed.get((region, parameter), 0))
    return tuple(BootstrapRequirement(region, version, parameter) for (region, parameter), version in needed.items())
