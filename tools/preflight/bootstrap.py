"""The CDK bootstrap in each region at the version the assembly requires.

The CDK CLI reads the version from the SSM parameter the manifest names
(`/cdk-bootstrap/<qualifier>/version`, written by the bootstrap stack); so does this check.
"""

from __future__ import annotations

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from tools.preflight.aws import ClientFactory, error_code
from tools.preflight.deployment import Deployment
from tools.preflight.report import Check, failed, passed

NAME = "CDK bootstrap"


def check_bootstrap(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    checks = []
    for requirement in deployment.bootstrap:
        where = f"{deployment.account}/{requirement.region}"
        command = f"npx cdk bootstrap aws://{deployment.account}/{requirement.region}"
        if requirement.qualifier != "hnb659fds":
            command += f" --qualifier {requirement.qualifier}"
        try:
            value = clients("ssm", requirement.region).get_parameter(Name=requirement.parameter)["Parameter"]["Value"]
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise
            checks.append(
                failed(NAME, where, f"not bootstrapped (no parameter {requirement.parameter})", f"run `{command}`")
            )
            continue
        try:
            version = int(value)
        except ValueError:
            checks.append(
                failed(NAME, where, f"{requirement.parameter} holds {value!r}, not a version", f"run `{command}`")
            )
            continue
        if version < requirement.version:
            checks.append(
                failed(
                    NAME,
                    where,
                    f"bootstrap version {version}, the assembly requires {requirement.version} or later",
                    f"run `{command}` (it upgrades the bootstrap stack in place)",
                )
            )
        else:
            checks.append(passed(NAME, where, f"version {version} (requires {requirement.version} or later)"))
    return checks
