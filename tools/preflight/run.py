"""The command line: `python -m tools.preflight --env <env> [--assembly cdk.out] [--fix]`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from config import ConfigError, EnvironmentConfig, load_environment
from tools.cloud_assembly import AssemblyError
from tools.preflight.aws import (
    ClientFactory,
    CredentialsError,
    DeployedStacks,
    boto3_clients,
    caller_account,
    credentials_problem,
    error_code,
)
from tools.preflight.bootstrap import check_bootstrap
from tools.preflight.deployment import Deployment, read_deployment, sharing_environments
from tools.preflight.images import check_images, check_secrets
from tools.preflight.manual import check_cloudfront_enabled
from tools.preflight.prerequisites import check_certificates, check_ecs_role, check_hosted_zone
from tools.preflight.quotas import QuotaChecks
from tools.preflight.report import Check, exit_status, failed, passed, summary

EXIT_CANNOT_RUN = 2


def check_identity(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """The credentials belong to the environment's account (CredentialsError when there are none)."""
    account = caller_account(clients, config.region)
    if account != config.account:
        return failed(
            "credentials",
            account,
            f"these credentials are for account {account}, config/{config.name}.toml deploys into {config.account}",
            f"sign in to {config.account} (or correct account in the config)",
        )
    return passed("credentials", account, f"account {account}, as config/{config.name}.toml names")


def run_checks(
    deployment: Deployment, clients: ClientFactory, *, fix: bool = False, echo: Callable[[str], None] = print
) -> list[Check]:
    """Every check, in the order a first deploy needs them; each line is echoed as it is known."""
    results: list[Check] = []

    def emit(checks: Sequence[Check]) -> None:
        for check in checks:
            echo(check.line())
        results.extend(checks)

    identity = check_identity(deployment.config, clients)
    emit([identity])
    if identity.outcome.value == "fail":
        return results  # every other answer would describe another account
    deployed = DeployedStacks(clients)
    families: list[tuple[str, Callable[[], list[Check]]]] = [
        ("CDK bootstrap", lambda: check_bootstrap(deployment, clients)),
        ("quotas", lambda: QuotaChecks(deployment, clients, deployed).run()),
        ("ECS service-linked role", lambda: check_ecs_role(deployment, clients, fix=fix)),
        ("ACM certificates", lambda: check_certificates(deployment, clients)),
        ("Route 53 hosted zone", lambda: check_hosted_zone(deployment, clients)),
        ("service secrets", lambda: check_secrets(deployment, clients)),
        ("images", lambda: check_images(deployment, clients)),
        ("CloudFront enabled for the account", lambda: check_cloudfront_enabled(deployment, clients)),
    ]
    for label, family in families:
        try:
            emit(family())
        except (ClientError, BotoCoreError) as error:
            problem = credentials_problem(error)
            if problem is not None:
                raise problem from None
            code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
            emit(
                [
                    failed(
                        label,
                        deployment.account,
                        f"could not check: {code}: {error}",
                        "give the credentials read access to it (ReadOnlyAccess covers every check) and run again",
                    )
                ]
            )
    return results


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__)
    parser.add_argument("--env", required=True, help="the environment to check: dev, staging or prod")
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="the synthesised assembly (cdk.out)")
    parser.add_argument(
        "--fix", action="store_true", help="create what can be created safely: ECS's service-linked role"
    )
    parser.add_argument(
        "--identity-only",
        action="store_true",
        help="check only that the credentials are for the environment's account (before a synthesis)",
    )
    parser.add_argument(
        "--list-environments",
        action="store_true",
        help="print the environments sharing this one's account, comma-separated (what to synthesise); no AWS call",
    )
    args = parser.parse_args(argv)
    try:
        config = load_environment(args.env)
        if args.list_environments:
            print(",".join(sharing_environments(args.env)))
            return 0
        clients = clients or boto3_clients()
        if args.identity_only:
            check = check_identity(config, clients)
            print(check.line())
            return exit_status([check])
        caller_account(clients, config.region)  # no credentials: say so before anything else
        deployment = read_deployment(config, args.assembly)
        checks = run_checks(deployment, clients, fix=args.fix)
    except ConfigError as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (AssemblyError, CredentialsError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (ClientError, BotoCoreError) as error:
        problem = credentials_problem(error)
        print(f"preflight: {problem or f'AWS error: {error}'}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    status = exit_status(checks)
    print(f"preflight {config.name}: {summary(checks)}" + (" (a failure: fix it before deploying)" if status else ""))
    return status
