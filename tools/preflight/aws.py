"""AWS access for the checks: one client per service and region, the credentials' account, and what
the environments' deployed stacks hold (their own resources, so that a second run counts them once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
)

#: A client factory: (service, region) -> a boto3 client. Tests hand in moto's or a stubbed one.
ClientFactory = Callable[[str, str], Any]

#: Errors that mean "no usable credentials": the run stops with exit 2 and one line.
NO_CREDENTIALS: tuple[type[Exception], ...] = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)
try:  # SSO errors exist in every botocore this repository pins; kept apart so the tuple reads clearly
    from botocore.exceptions import SSOTokenLoadError, TokenRetrievalError, UnauthorizedSSOTokenError

    NO_CREDENTIALS += (SSOTokenLoadError, TokenRetrievalError, UnauthorizedSSOTokenError)
except ImportError:  # pragma: no cover
    pass

#: Error codes of a call whose credentials AWS refused (expired or unknown keys): also exit 2.
REJECTED_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    }
)

#: Stack states in which the stack's resources are gone or were never made.
ABSENT_STACK_STATES = frozenset({"DELETE_COMPLETE", "REVIEW_IN_PROGRESS"})
#: Resource states in which a stack's resource does not exist in the account.
ABSENT_RESOURCE_STATES = frozenset({"DELETE_COMPLETE", "CREATE_FAILED", "DELETE_SKIPPED"})

_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"}, connect_timeout=10, read_timeout=30)


class CredentialsError(Exception):
    """The run cannot use AWS at all; the message is the one line printed."""


def boto3_clients(session: boto3.Session | None = None) -> ClientFactory:
    """Clients of one boto3 session (the default credential chain), cached per service and region."""
    session = session or boto3.Session()
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in cache:
            cache[(service, region)] = session.client(service, region_name=region, config=_RETRIES)
        return cache[(service, region)]

    return client


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def credentials_problem(error: Exception) -> CredentialsError | None:
    """The one-line problem when `error` means the credentials are missing or refused, else None."""
    if isinstance(error, NO_CREDENTIALS):
        return CredentialsError(
            "no AWS credentials found: sign in to the environment's account first (aws sso login, "
            f"AWS_PROFILE, or the CI role) and run again ({type(error).__name__})"
        )
    if isinstance(error, ClientError) and error_code(error) in REJECTED_CREDENTIALS:
        return CredentialsError(f"AWS refused the credentials ({error_code(error)}): sign in again and run again")
    return None


def caller_account(clients: ClientFactory, region: str) -> str:
    """The account the credentials belong to; CredentialsError when there are none."""
    try:
        return str(clients("sts", region).get_caller_identity()["Account"])
    except Exception as error:
        problem = credentials_problem(error)
        if problem is not None:
            raise problem from None
        raise


@dataclass
class DeployedStacks:
    """The physical resources of the named stacks in one account, by region and resource type.

    A stack that does not exist (or holds nothing yet) contributes nothing: a first deploy owns nothing.
    """

    clients: ClientFactory
    _cache: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = field(default_factory=dict)

    def resources(self, region: str, stack: str) -> dict[str, list[tuple[str, str]]]:
        """resource type -> [(logical id, physical id)] of the stack's resources that exist."""
        key = (region, stack)
        if key not in self._cache:
            self._cache[key] = self._read(region, stack)
        return self._cache[key]

    def physical_ids(self, region: str, stacks: Iterable[str], resource_type: str) -> list[str]:
        return [physical for stack in stacks for _, physical in self.resources(region, stack).get(resource_type, [])]

    def _read(self, region: str, stack: str) -> dict[str, list[tuple[str, str]]]:
        client = self.clients("cloudformation", region)
        try:
            status = client.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except ClientError as error:
            if error_code(error) == "ValidationError" and "does not exist" in str(error):
                return {}
            raise
        if status in ABSENT_STACK_STATES:
            return {}
        found: dict[str, list[tuple[str, str]]] = {}
        for page in client.get_paginator("list_stack_resources").paginate(StackName=stack):
            for summary in page["StackResourceSummaries"]:
                physical = summary.get("PhysicalResourceId")
                if physical and summary.get("ResourceStatus") not in ABSENT_RESOURCE_STATES:
                    found.setdefault(summary["ResourceType"], []).append((summary["LogicalResourceId"], physical))
        return found
