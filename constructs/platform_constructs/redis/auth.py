"""How clients authenticate: one AUTH token kept in Secrets Manager, or IAM users in a user group (role-based
access control) with the built-in ``default`` user disabled. Each way's accepted findings sit with it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import (
    Names,
    RemovalPolicy,
    SecretValue,
    aws_elasticache as elasticache,
    aws_kms as kms,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.naming import pascal_case

#: Length of the generated AUTH token (ElastiCache accepts 16 to 128 characters). AUTH tokens may hold
#: only letters, digits and ``! & # $ ^ < > -``; everything else (notably ``@``, ``"``, ``/`` and space)
#: is rejected. The generated token leaves out all punctuation, so it is also safe in ``rediss://`` URLs
#: and shell variables without quoting.
AUTH_TOKEN_LENGTH = 64

#: ElastiCache user ids: a letter first, lower-case letters, digits and single hyphens, at most 40.
_USER_ID = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)$")


@dataclass(frozen=True)
class AuthProps:
    """One AUTH token, or IAM users (checked when the props are made).

    :param secret: secret holding the AUTH token (default: a new secret with a generated 64-character
        alphanumeric token, encrypted with the group's key).
    :param secret_json_field: JSON field of ``secret`` holding the token (default: the whole secret string is
        the token, as in the generated secret).
    :param iam_users: user id -> key prefixes: one ElastiCache user per entry that authenticates with IAM (user
        id and user name identical, as IAM authentication requires; ``elasticache:Connect`` on the group and
        the user, see ``connect_resources``) and may use only keys starting with its prefixes. The built-in
        ``default`` user is replaced by a disabled one (its password is a generated secret no client is given;
        a Valkey user group admits no password-less user), all of them in one user group on the replication
        group, and no AUTH token is set (default: None, one shared AUTH token from ``secret``). Requires
        Valkey 7.2+ or Redis OSS 7+.
    """

    secret: secretsmanager.ISecret | None = None
    secret_json_field: str | None = None
    iam_users: Mapping[str, Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if self.secret is None and self.secret_json_field is not None:
            raise ValueError(
                f"AuthProps.secret_json_field: only valid with secret (the generated secret is a plain "
                f"token), got {self.secret_json_field!r}"
            )
        if self.iam_users is None:
            return
        if self.secret is not None:
            raise ValueError("AuthProps.secret: not used with iam_users, which replace the AUTH token")
        for user_id, prefixes in self.iam_users.items():
            if not _USER_ID.fullmatch(user_id):
                raise ValueError(
                    f"AuthProps.iam_users: user id {user_id!r} must be 1 to 40 lower-case letters, digits and "
                    "single hyphens, starting with a letter"
                )
            if not prefixes:
                raise ValueError(f"AuthProps.iam_users: {user_id!r} needs at least one key prefix")


@dataclass(frozen=True)
class Authentication:
    """What the group authenticates with: ``auth_secret`` (None with IAM users), whether the construct
    generated it (``secret_created``), and with IAM users the ``user_group``, the ``users`` by id (``default``
    included) and the disabled default user's ``default_user_secret``."""

    auth_secret: secretsmanager.ISecret | None
    secret_created: bool
    user_group: elasticache.CfnUserGroup | None = None
    users: dict[str, elasticache.CfnUser] = field(default_factory=dict)
    default_user_secret: secretsmanager.Secret | None = None

    def auth_token(self, json_field: str | None) -> SecretValue | None:
        """The token as a ``{{resolve:secretsmanager:...}}`` reference (the whole secret, or one JSON field);
        None with IAM users, who come in through the user group."""
        if self.auth_secret is None:
            return None
        if json_field is None:
            return self.auth_secret.secret_value
        return self.auth_secret.secret_value_from_json(json_field)


def authenticate(
    scope: Construct,
    props: AuthProps,
    *,
    engine: str,
    label: str,
    encryption_key: kms.IKey,
    secret_policy: RemovalPolicy,
    user_policy: RemovalPolicy,
) -> Authentication:
    """The IAM users and their user group, or the AUTH token's secret (given, or generated as ``AuthSecret``)."""
    if props.iam_users is not None:
        default_user_secret = _create_auth_secret(scope, label, encryption_key, secret_policy, "DefaultUserSecret")
        users, user_group = _create_user_group(scope, props.iam_users, engine, default_user_secret, user_policy)
        _acknowledge_disabled_default_user(default_user_secret)
        return Authentication(
            auth_secret=None,
            secret_created=True,
            user_group=user_group,
            users=users,
            default_user_secret=default_user_secret,
        )
    if props.secret is not None:
        return Authentication(auth_secret=props.secret, secret_created=False)
    secret = _create_auth_secret(scope, label, encryption_key, secret_policy, "AuthSecret")
    _acknowledge_unrotated_token(secret)
    return Authentication(auth_secret=secret, secret_created=True)


def _create_auth_secret(
    scope: Construct, label: str, encryption_key: kms.IKey, removal_policy: RemovalPolicy, construct_id: str
) -> secretsmanager.Secret:
    """A generated alphanumeric token of ``AUTH_TOKEN_LENGTH`` characters, encrypted with the key."""
    return secretsmanager.Secret(
        scope,
        construct_id,
        description=f"AUTH token of the {label} replication group {scope.node.path}",
        encryption_key=encryption_key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=AUTH_TOKEN_LENGTH,
            exclude_punctuation=True,
            include_space=False,
        ),
        removal_policy=removal_policy,
    )


def _create_user_group(
    scope: Construct,
    iam_users: Mapping[str, Sequence[str]],
    engine: str,
    default_user_secret: secretsmanager.ISecret,
    removal_policy: RemovalPolicy,
) -> tuple[dict[str, elasticache.CfnUser], elasticache.CfnUserGroup]:
    """A disabled ``default`` user (``DefaultUser``), one IAM user per entry (``User<UserId>``), and the user
    group holding them all (``UserGroup``)."""
    default_id = f"{Names.unique_resource_name(scope, max_length=32, separator='-').lower()}-default"
    default = elasticache.CfnUser(
        scope,
        "DefaultUser",
        engine=engine,
        user_id=re.sub(r"[^a-z0-9-]", "", default_id).strip("-"),
        user_name="default",
        access_string="off -@all",
        authentication_mode={
            "Type": "password",
            "Passwords": [default_user_secret.secret_value.unsafe_unwrap()],
        },
    )
    users: dict[str, elasticache.CfnUser] = {"default": default}
    for user_id, prefixes in iam_users.items():
        keys = " ".join(f"~{prefix}*" for prefix in prefixes)
        # The construct id follows the user id (create-only): adding or removing another user
        # never shifts this one onto a new logical id, which would replace it under the same id.
        users[user_id] = elasticache.CfnUser(
            scope,
            "User" + pascal_case(user_id),
            engine=engine,
            user_id=user_id,
            user_name=user_id,  # IAM authentication requires the name to equal the id
            # SCAN and RANDOMKEY ignore key patterns: without them a user could list other services' keys.
            access_string=(
                f"on {keys} -@all +@read +@write +@keyspace +@connection +@transaction -@dangerous -scan -randomkey"
            ),
            authentication_mode={"Type": "iam"},
        )
    group = elasticache.CfnUserGroup(
        scope,
        "UserGroup",
        engine=engine,
        user_group_id=f"{default.user_id.removesuffix('-default')}-users",
        user_ids=[user.ref for user in users.values()],
    )
    # While the replication group is retained, its users and user group must stay too: CloudFormation
    # could not delete them while the group uses them.
    for resource in (group, *users.values()):
        resource.apply_removal_policy(removal_policy)
    return users, group


def _acknowledge_disabled_default_user(default_user_secret: secretsmanager.Secret) -> None:
    """The rotation rules on the disabled default user's password, which no client ever uses."""
    acknowledge(
        default_user_secret,
        "AwsSolutions-SMG4",
        "NIST.800.53.R5-SecretsManagerRotationEnabled",
        "PCI.DSS.321-SecretsManagerRotationEnabled",
        reason=(
            "This secret is the password of the replaced built-in 'default' user, which is disabled "
            "(access string 'off'): no client can log in as it with this or any password, and no client "
            "is ever given it. ElastiCache requires a password on it because a Valkey user group admits "
            "no password-less user; the clients authenticate with IAM tokens that last 15 minutes."
        ),
    )


def acknowledge_role_based_access(replication_group: elasticache.CfnReplicationGroup) -> None:
    """AEC6 asks for an AUTH token; a group with a user group of IAM users authenticates more strictly (called
    by the group once it exists)."""
    acknowledge(
        replication_group,
        "AwsSolutions-AEC6",
        reason=(
            "Clients do authenticate, more strictly than with AUTH: the group uses role-based access "
            "control, a user group of IAM-authenticated users (15-minute tokens, one user per service, "
            "each limited to its key prefixes) and a disabled default user. The rule only recognises "
            "the single shared AUTH token, which RBAC replaces."
        ),
    )


def _acknowledge_unrotated_token(secret: secretsmanager.Secret) -> None:
    acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "NIST.800.53.R5-SecretsManagerRotationEnabled",
        "PCI.DSS.321-SecretsManagerRotationEnabled",
        reason=(
            "This secret is the ElastiCache AUTH token. Rotating it needs a custom rotation Lambda "
            "that runs ModifyReplicationGroup with AuthTokenUpdateStrategy ROTATE then SET while "
            "clients reload the token, which is out of scope for this construct. The token is 64 "
            "random characters, encrypted with a customer-managed KMS key, and the endpoint is "
            "only reachable from granted security groups inside the VPC over required TLS."
        ),
    )
