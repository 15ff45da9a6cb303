"""A Valkey/Redis OSS replication group (cluster mode disabled) with failover, TLS, AUTH and KMS.

The CDK has no L2 for ElastiCache replication groups; this construct is the one the platform uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from aws_cdk import (
    ArnFormat,
    Duration,
    Names,
    RemovalPolicy,
    SecretValue,
    Stack,
    Token,
    aws_cloudwatch as cloudwatch,
    aws_ec2 as ec2,
    aws_elasticache as elasticache,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs import limits
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.maintenance_windows import validate_windows
from platform_constructs.naming import pascal_case
from platform_constructs.zoned_stack import select_subnets

Engine = Literal["valkey", "redis"]

#: Graviton families that ElastiCache offers for Valkey/Redis OSS today. Older x86 (m4/m5/r4/r5/t2/t3)
#: generations are refused: they cost more per GiB and miss engine features (e.g. enhanced I/O).
ALLOWED_NODE_FAMILIES: tuple[str, ...] = ("t4g", "m6g", "m7g", "m8g", "r6g", "r7g", "r8g", "c8gn")

#: Engine versions CloudFormation (cfn-lint 1.58) accepts for replication groups that this construct
#: supports, with their parameter-group family. Redis OSS below 7.0 is excluded: TransitEncryptionMode
#: needs 7.0.5+. Valkey 9.x is left out until its parameter-group family is confirmed.
ENGINE_VERSIONS: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8", "8.2": "valkey8"},
    "redis": {"7.0": "redis7", "7.1": "redis7"},
}

#: Version used when ``engine_version`` is not given.
DEFAULT_ENGINE_VERSIONS: dict[str, str] = {"valkey": "8.0", "redis": "7.1"}

#: Every ``maxmemory-policy`` value Valkey and Redis OSS 7 know.
EVICTION_POLICIES: tuple[str, ...] = (
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
)

#: ElastiCache allows at most five read replicas per node group (shard).
MAX_REPLICAS_PER_NODE_GROUP = limits.CACHE_REPLICAS.high

#: Length of the generated AUTH token (ElastiCache accepts 16 to 128 characters). AUTH tokens may hold
#: only letters, digits and ``! & # $ ^ < > -``; everything else (notably ``@``, ``"``, ``/`` and space)
#: is rejected. The generated token leaves out all punctuation, so it is also safe in ``rediss://`` URLs
#: and shell variables without quoting.
AUTH_TOKEN_LENGTH = 64

_NODE_TYPE_PATTERN = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$")


#: ElastiCache user ids: a letter first, lower-case letters, digits and single hyphens, at most 40.
_USER_ID = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)$")


def _engine_version(engine: str, engine_version: str | None) -> str:
    """`engine_version`, or the engine's default; the construct must support both engine and version."""
    if engine not in ENGINE_VERSIONS:
        raise ValueError(f"engine: must be one of {sorted(ENGINE_VERSIONS)}, got {engine!r}")
    version = DEFAULT_ENGINE_VERSIONS[engine] if engine_version is None else engine_version
    if version not in ENGINE_VERSIONS[engine]:
        raise ValueError(
            f"engine_version: {version!r} is not supported for {engine}; allowed: {list(ENGINE_VERSIONS[engine])}"
        )
    return version


def _validate_node_type(node_type: str) -> None:
    """``cache.<family>.<size>`` of a family in ``ALLOWED_NODE_FAMILIES``."""
    node_type_match = _NODE_TYPE_PATTERN.fullmatch(node_type)
    if node_type_match is None:
        raise ValueError(f"node_type: expected 'cache.<family>.<size>', e.g. 'cache.r7g.large', got {node_type!r}")
    if node_type_match["family"] not in ALLOWED_NODE_FAMILIES:
        raise ValueError(
            f"node_type: family {node_type_match['family']!r} of {node_type!r} is not allowed; "
            f"allowed families (current-generation Graviton): {list(ALLOWED_NODE_FAMILIES)}"
        )


def _validate_parameters(
    *,
    node_type: str,
    replicas_per_node_group: int,
    maxmemory_policy: str,
    snapshot_retention_days: int,
    port: int,
    log_retention: logs.RetentionDays,
    auth_secret: secretsmanager.ISecret | None,
    auth_secret_json_field: str | None,
    snapshot_window: str,
    preferred_maintenance_window: str,
) -> None:
    """Node type, replicas, eviction policy, snapshots, port, log retention, AUTH field and the two windows."""
    _validate_node_type(node_type)
    if replicas_per_node_group < limits.CACHE_REPLICAS.low:
        raise ValueError(
            f"replicas_per_node_group: must be at least 1 (automatic failover promotes a replica), "
            f"got {replicas_per_node_group}"
        )
    if replicas_per_node_group > MAX_REPLICAS_PER_NODE_GROUP:
        raise ValueError(
            f"replicas_per_node_group: ElastiCache allows at most {MAX_REPLICAS_PER_NODE_GROUP} replicas "
            f"per node group, got {replicas_per_node_group}"
        )
    if maxmemory_policy not in EVICTION_POLICIES:
        raise ValueError(f"maxmemory_policy: {maxmemory_policy!r} is not one of {list(EVICTION_POLICIES)}")
    limits.CACHE_SNAPSHOT_RETENTION_DAYS.check("snapshot_retention_days", snapshot_retention_days)
    limits.CACHE_PORT.check("port", port)
    if log_retention == logs.RetentionDays.INFINITE:
        raise ValueError("log_retention: must be a finite retention, got INFINITE")
    if auth_secret is None and auth_secret_json_field is not None:
        raise ValueError(
            f"auth_secret_json_field: only valid with auth_secret (the generated secret is a plain "
            f"token), got {auth_secret_json_field!r}"
        )
    validate_windows(snapshot_window, preferred_maintenance_window)


def _select_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None, *, multi_az: bool) -> ec2.SelectedSubnets:
    """The nodes' subnets (default: PRIVATE_ISOLATED); Multi-AZ needs them in at least two AZs."""
    selection = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    selected = select_subnets(vpc, selection)
    zones = selected.availability_zones
    if multi_az and not any(Token.is_unresolved(zone) for zone in zones) and len(set(zones)) < 2:
        raise ValueError(f"multi_az: needs subnets in at least 2 availability zones, got {sorted(set(zones))}")
    return selected


def _supporting_policy(removal_policy: RemovalPolicy) -> RemovalPolicy:
    """Removal policy of the subnet, parameter and security groups: they must stay while the group is retained."""
    if removal_policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return removal_policy
    return RemovalPolicy.DESTROY


def _data_policy(removal_policy: RemovalPolicy) -> RemovalPolicy:
    """Removal policy of the secret and the log groups: they have no snapshot, so SNAPSHOT keeps them."""
    return RemovalPolicy.RETAIN if removal_policy == RemovalPolicy.SNAPSHOT else removal_policy


class RedisReplicationGroup(Construct):
    """ElastiCache for Valkey (or Redis OSS) replication group: one shard, a primary and 1-5 replicas.

    - Cluster mode disabled (``NumNodeGroups`` 1); automatic failover to a replica is always on,
      Multi-AZ placement is on by default.
    - TLS is required on every connection (``TransitEncryptionMode: required``), clients authenticate
      with an AUTH token kept in Secrets Manager and passed to CloudFormation as a dynamic reference,
      never in the template. Data, snapshots, the secret and both log groups use ``encryption_key``.
    - Slow log and engine log are delivered as JSON to two KMS-encrypted CloudWatch log groups.
    - A custom parameter group pins ``maxmemory-policy`` and ``cluster-enabled: no``.
    - A dedicated security group with no rules: grant access with
      ``connections.allow_default_port_from(peer)``. It has no egress (nodes never initiate traffic).
    - Daily snapshots kept ``snapshot_retention_days``; minor engine versions upgrade automatically in
      ``preferred_maintenance_window``.

    Compliance: the AwsSolutions default-port rule (AEC5) fails for ``engine="redis"`` on port 6379, and
    AEC4 fails for ``multi_az=False``; the caller decides (pick another ``port``, or acknowledge with a
    reason). A ``snapshot_retention_days`` below 15 fails NIST 800-53 R5.

    Exposes ``replication_group`` (the L1), ``security_group``, ``connections``, ``auth_secret`` (and
    ``secret_created``: whether the construct generated it), ``parameter_group``, ``subnet_group``,
    ``slow_log_group``, ``engine_log_group``, the endpoint attributes, ``member_cluster_ids``, metric
    helpers and ``grant_read_auth_secret``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        node_type: str,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        subnets: ec2.SubnetSelection | None = None,
        replicas_per_node_group: int = 1,
        multi_az: bool = True,
        engine: Engine = "valkey",
        engine_version: str | None = None,
        auth_secret: secretsmanager.ISecret | None = None,
        auth_secret_json_field: str | None = None,
        maxmemory_policy: str = "volatile-lru",
        snapshot_retention_days: int = 15,
        snapshot_window: str = "17:00-18:00",
        preferred_maintenance_window: str = "sun:19:00-sun:20:00",
        port: int = 6379,
        description: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        log_group_prefix: str | None = None,
        log_removal_policy: RemovalPolicy | None = None,
        iam_users: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """
        :param vpc: the VPC the nodes live in.
        :param node_type: ``cache.<family>.<size>`` of a current Graviton family (see
            ``ALLOWED_NODE_FAMILIES``), e.g. ``cache.r7g.large``.
        :param encryption_key: encrypts data at rest, snapshots, the generated AUTH secret and both log
            groups. Its key policy is extended to let CloudWatch Logs of this region use it.
        :param log_retention: how long slow-log and engine-log entries are kept (not INFINITE).
        :param subnets: where the nodes go (default: the VPC's PRIVATE_ISOLATED subnets).
        :param replicas_per_node_group: read replicas next to the primary, 1 to 5 (default 1). At least
            one is required because automatic failover promotes a replica.
        :param multi_az: place replicas in other AZs than the primary and fail over across AZs
            (default True). Needs subnets in at least two AZs.
        :param engine: ``valkey`` (default) or ``redis`` (Redis OSS).
        :param engine_version: one of ``ENGINE_VERSIONS[engine]`` (default: ``8.0`` for valkey,
            ``7.1`` for redis). Minor versions follow automatically.
        :param auth_secret: secret holding the AUTH token (default: a new secret with a generated
            64-character alphanumeric token, encrypted with ``encryption_key``).
        :param auth_secret_json_field: JSON field of ``auth_secret`` holding the token (default: the
            whole secret string is the token, as in the generated secret).
        :param maxmemory_policy: eviction policy, one of ``EVICTION_POLICIES`` (default volatile-lru:
            only keys with a TTL are evicted).
        :param snapshot_retention_days: days automatic snapshots are kept, 1 to 35 (default 15).
        :param snapshot_window: daily snapshot window in UTC, ``hh24:mi-hh24:mi``, at least 60 minutes
            (default ``17:00-18:00`` UTC, 02:00-03:00 in Seoul).
        :param preferred_maintenance_window: weekly maintenance window in UTC,
            ``ddd:hh24:mi-ddd:hh24:mi``, 60 minutes to 24 hours, not overlapping the snapshot window
            (default ``sun:19:00-sun:20:00`` UTC, Monday 04:00-05:00 in Seoul).
        :param port: TCP port of the endpoints (default 6379), 1024 to 65535.
        :param description: replication group description (default: engine and construct path).
        :param removal_policy: RETAIN (default), SNAPSHOT (final snapshot, then delete) or DESTROY for
            the replication group. The secret and log groups get the same policy, except that SNAPSHOT
            retains them. While the group is retained, so are its subnet group, parameter group and
            security group, which CloudFormation could not delete while the group uses them.
        :param iam_users: user id -> key prefixes: one ElastiCache user per entry that authenticates
            with IAM (user id and user name identical, as IAM authentication requires; ``elasticache:Connect``
            on the group and the user, see ``connect_resources``) and may use only keys starting with its
            prefixes. The built-in ``default`` user is replaced by a disabled one (its password is a
            generated secret no client is given; a Valkey user group admits no password-less user), all
            of them in one user group on the replication group, and no AUTH token is set (default: None,
            one shared AUTH token from ``auth_secret``). Requires Valkey 7.2+ or Redis OSS 7+.
        :param log_group_prefix: the log groups are ``<prefix>/slow-log`` and ``<prefix>/engine-log``
            (default: ``/aws/elasticache/`` and the construct's unique path). The names are explicit so
            the key policy can let CloudWatch Logs use ``encryption_key`` for exactly these two groups.
        :param log_removal_policy: policy of the two log groups (default: as the secret; see
            ``removal_policy``). DESTROY suits a disposable environment that is deployed again after
            a teardown, where a retained group of the same name would collide.
        """
        super().__init__(scope, construct_id)

        # --- Validation: every parameter is checked before the first resource exists --------------
        version = _engine_version(engine, engine_version)
        _validate_parameters(
            node_type=node_type,
            replicas_per_node_group=replicas_per_node_group,
            maxmemory_policy=maxmemory_policy,
            snapshot_retention_days=snapshot_retention_days,
            port=port,
            log_retention=log_retention,
            auth_secret=auth_secret,
            auth_secret_json_field=auth_secret_json_field,
            snapshot_window=snapshot_window,
            preferred_maintenance_window=preferred_maintenance_window,
        )
        selected = _select_subnets(vpc, subnets, multi_az=multi_az)

        self.engine: str = engine
        self.engine_version: str = version
        self.port: int = port
        self.replicas_per_node_group: int = replicas_per_node_group
        self.encryption_key = encryption_key
        supporting_policy = _supporting_policy(removal_policy)
        self._supporting_policy = supporting_policy
        data_policy = _data_policy(removal_policy)
        label = "Valkey" if engine == "valkey" else "Redis OSS"

        # --- Subnet group, parameter group, security group ----------------------------------------
        self.subnet_group = self._create_subnet_group(selected, label, supporting_policy)
        self.parameter_group = self._create_parameter_group(maxmemory_policy, supporting_policy)
        self.security_group = self._create_security_group(vpc, supporting_policy)
        self.connections = ec2.Connections(security_groups=[self.security_group], default_port=ec2.Port.tcp(port))

        # --- Authentication: IAM users in a user group, or one AUTH token -----------------------------
        self.user_group: elasticache.CfnUserGroup | None = None
        self.users: dict[str, elasticache.CfnUser] = {}
        self.auth_secret: secretsmanager.ISecret | None = None
        if iam_users is not None:
            if auth_secret is not None:
                raise ValueError("auth_secret: not used with iam_users, which replace the AUTH token")
            self.secret_created = True
            self.default_user_secret = self._create_auth_secret(label, data_policy, "DefaultUserSecret")
            self.user_group = self._create_user_group(iam_users)
        else:
            self.secret_created = auth_secret is None
            self.auth_secret = auth_secret if auth_secret is not None else self._create_auth_secret(label, data_policy)

        # --- Log groups and the replication group that delivers to them ---------------------------
        prefix = log_group_prefix or f"/aws/elasticache/{Names.unique_id(self)}"
        self.slow_log_group, self.engine_log_group = self._create_log_groups(
            prefix, log_retention, data_policy if log_removal_policy is None else log_removal_policy
        )
        self.replication_group = self._create_replication_group(
            description=description or f"{label} replication group {self.node.path}",
            node_type=node_type,
            multi_az=multi_az,
            auth_token=None if self.auth_secret is None else self._auth_token(auth_secret_json_field),
            snapshot_retention_days=snapshot_retention_days,
            snapshot_window=snapshot_window,
            preferred_maintenance_window=preferred_maintenance_window,
            removal_policy=removal_policy,
        )
        self.replication_group_id: str = self.replication_group.ref
        self.primary_endpoint_address: str = self.replication_group.attr_primary_end_point_address
        self.primary_endpoint_port: str = self.replication_group.attr_primary_end_point_port
        self.reader_endpoint_address: str = self.replication_group.attr_reader_end_point_address
        self.reader_endpoint_port: str = self.replication_group.attr_reader_end_point_port
        #: CacheClusterId of every node: ``<group id>-001`` (the first primary) to ``-00<n>``.
        self.member_cluster_ids: list[str] = [
            f"{self.replication_group_id}-{member:03d}" for member in range(1, replicas_per_node_group + 2)
        ]

        # --- Accepted compliance findings ---------------------------------------------------------
        self._acknowledge_findings()

    # --- Subnet group, parameter group, security group --------------------------------------------
    # While the replication group is retained, these must stay: CloudFormation could not delete them.
    def _create_subnet_group(
        self, selected: ec2.SelectedSubnets, label: str, removal_policy: RemovalPolicy
    ) -> elasticache.CfnSubnetGroup:
        subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=f"Subnets of the {label} replication group {self.node.path}",
            subnet_ids=selected.subnet_ids,
        )
        subnet_group.apply_removal_policy(removal_policy)
        return subnet_group

    def _create_parameter_group(
        self, maxmemory_policy: str, removal_policy: RemovalPolicy
    ) -> elasticache.CfnParameterGroup:
        """The engine version's family with ``maxmemory-policy`` pinned and cluster mode off."""
        family = ENGINE_VERSIONS[self.engine][self.engine_version]
        parameter_group = elasticache.CfnParameterGroup(
            self,
            "ParameterGroup",
            cache_parameter_group_family=family,
            # No engine version or policy here: changing a parameter group's description replaces it.
            description=f"{family} parameters of the replication group {self.node.path}",
            properties={"maxmemory-policy": maxmemory_policy, "cluster-enabled": "no"},
        )
        parameter_group.apply_removal_policy(removal_policy)
        return parameter_group

    def _create_security_group(self, vpc: ec2.IVpc, removal_policy: RemovalPolicy) -> ec2.SecurityGroup:
        """No rules at all: peers are granted ingress through ``connections``; nodes never send first."""
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            # Engine-neutral: changing a security group's description replaces it.
            description=f"ElastiCache replication group {self.node.path}; ingress only from granted peers",
            allow_all_outbound=False,
        )
        security_group.apply_removal_policy(removal_policy)
        return security_group

    # --- AUTH secret ------------------------------------------------------------------------------
    def _create_auth_secret(
        self, label: str, removal_policy: RemovalPolicy, construct_id: str = "AuthSecret"
    ) -> secretsmanager.Secret:
        """A generated alphanumeric token of ``AUTH_TOKEN_LENGTH`` characters, encrypted with the key."""
        return secretsmanager.Secret(
            self,
            construct_id,
            description=f"AUTH token of the {label} replication group {self.node.path}",
            encryption_key=self.encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=AUTH_TOKEN_LENGTH,
                exclude_punctuation=True,
                include_space=False,
            ),
            removal_policy=removal_policy,
        )

    def _auth_token(self, json_field: str | None) -> SecretValue:
        """The token as a ``{{resolve:secretsmanager:...}}`` reference: the whole secret, or one JSON field."""
        if self.auth_secret is None:  # pragma: no cover - callers check
            raise RuntimeError("no AUTH secret: the group uses IAM users")
        return (
            self.auth_secret.secret_value if json_field is None else self.auth_secret.secret_value_from_json(json_field)
        )

    # --- IAM users --------------------------------------------------------------------------------
    def _create_user_group(self, iam_users: Mapping[str, Sequence[str]]) -> elasticache.CfnUserGroup:
        """A disabled ``default`` user, one IAM user per entry, and the user group holding them all."""
        for user_id, prefixes in iam_users.items():
            if not _USER_ID.fullmatch(user_id):
                raise ValueError(
                    f"iam_users: user id {user_id!r} must be 1 to 40 lower-case letters, digits and single "
                    "hyphens, starting with a letter"
                )
            if not prefixes:
                raise ValueError(f"iam_users: {user_id!r} needs at least one key prefix")
        default_id = f"{Names.unique_resource_name(self, max_length=32, separator='-').lower()}-default"
        default = elasticache.CfnUser(
            self,
            "DefaultUser",
            engine=self.engine,
            user_id=re.sub(r"[^a-z0-9-]", "", default_id).strip("-"),
            user_name="default",
            access_string="off -@all",
            authentication_mode={
                "Type": "password",
                "Passwords": [self.default_user_secret.secret_value.unsafe_unwrap()],
            },
        )
        self.users["default"] = default
        for user_id, prefixes in iam_users.items():
            keys = " ".join(f"~{prefix}*" for prefix in prefixes)
            # The construct id follows the user id (create-only): adding or removing another user
            # never shifts this one onto a new logical id, which would replace it under the same id.
            self.users[user_id] = elasticache.CfnUser(
                self,
                "User" + pascal_case(user_id),
                engine=self.engine,
                user_id=user_id,
                user_name=user_id,  # IAM authentication requires the name to equal the id
                # SCAN and RANDOMKEY ignore key patterns: without them a user could list other services' keys.
                access_string=(
                    f"on {keys} -@all +@read +@write +@keyspace +@connection +@transaction -@dangerous -scan -randomkey"
                ),
                authentication_mode={"Type": "iam"},
            )
        group = elasticache.CfnUserGroup(
            self,
            "UserGroup",
            engine=self.engine,
            user_group_id=f"{default.user_id.removesuffix('-default')}-users",
            user_ids=[user.ref for user in self.users.values()],
        )
        # While the replication group is retained, its users and user group must stay too: CloudFormation
        # could not delete them while the group uses them.
        for resource in (group, *self.users.values()):
            resource.apply_removal_policy(self._supporting_policy)
        return group

    def connect_resources(self, user_id: str) -> list[str]:
        """What ``elasticache:Connect`` must name for IAM user `user_id`: the group and the user."""
        if user_id not in self.users or user_id == "default":
            raise ValueError(f"connect_resources: {user_id!r} is not one of the IAM users {sorted(self.users)}")
        stack = Stack.of(self)
        return [
            stack.format_arn(
                service="elasticache", resource=kind, resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for kind, name in (("replicationgroup", self.replication_group.ref), ("user", user_id))
        ]

    # --- Log groups and log delivery --------------------------------------------------------------
    def _create_log_groups(
        self, prefix: str, log_retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> tuple[logs.LogGroup, logs.LogGroup]:
        """The slow-log and the engine-log group, both encrypted with the key, which admits exactly these two."""
        names = {log_type: f"{prefix}/{log_type}" for log_type in ("slow-log", "engine-log")}
        allow_cloudwatch_logs(
            self.encryption_key,
            self,
            log_group_arns=[log_group_arn(self, name) for name in names.values()],
        )
        slow_log_group = logs.LogGroup(
            self,
            "SlowLogGroup",
            log_group_name=names["slow-log"],
            retention=log_retention,
            encryption_key=self.encryption_key,
            removal_policy=removal_policy,
        )
        engine_log_group = logs.LogGroup(
            self,
            "EngineLogGroup",
            log_group_name=names["engine-log"],
            retention=log_retention,
            encryption_key=self.encryption_key,
            removal_policy=removal_policy,
        )
        return slow_log_group, engine_log_group

    @staticmethod
    def _log_delivery(
        log_type: str, log_group: logs.ILogGroup
    ) -> elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty:
        return elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
            log_type=log_type,
            log_format="json",
            destination_type="cloudwatch-logs",
            destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                    log_group=log_group.log_group_name
                )
            ),
        )

    # --- Replication group ------------------------------------------------------------------------
    def _create_replication_group(
        self,
        *,
        description: str,
        node_type: str,
        multi_az: bool,
        auth_token: SecretValue | None,
        snapshot_retention_days: int,
        snapshot_window: str,
        preferred_maintenance_window: str,
        removal_policy: RemovalPolicy,
    ) -> elasticache.CfnReplicationGroup:
        """One shard with automatic failover, TLS required, AUTH, KMS at rest and JSON log delivery."""
        replication_group = elasticache.CfnReplicationGroup(
            self,
            "Resource",
            replication_group_description=description,
            engine=self.engine,
            engine_version=self.engine_version,
            cache_node_type=node_type,
            # NumCacheClusters, not NumNodeGroups/ReplicasPerNodeGroup: for a group with one shard
            # (cluster mode disabled) CloudFormation changes it in place, adding or removing replicas;
            # ReplicasPerNodeGroup is a replacement.
            num_cache_clusters=self.replicas_per_node_group + 1,
            automatic_failover_enabled=True,
            multi_az_enabled=multi_az,
            cache_subnet_group_name=self.subnet_group.ref,
            cache_parameter_group_name=self.parameter_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            port=self.port,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            # A {{resolve:secretsmanager:...}} reference; none with IAM users, who come in through the group.
            auth_token=None if auth_token is None else auth_token.unsafe_unwrap(),
            user_group_ids=None if self.user_group is None else [self.user_group.ref],
            at_rest_encryption_enabled=True,
            kms_key_id=self.encryption_key.key_arn,
            snapshot_retention_limit=snapshot_retention_days,
            snapshot_window=snapshot_window,
            preferred_maintenance_window=preferred_maintenance_window,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                self._log_delivery("slow-log", self.slow_log_group),
                self._log_delivery("engine-log", self.engine_log_group),
            ],
        )
        replication_group.apply_removal_policy(removal_policy)
        return replication_group

    # --- Accepted compliance findings -------------------------------------------------------------
    def _acknowledge_findings(self) -> None:
        """Findings this design causes on purpose, accepted on the resource they concern."""
        if self.user_group is not None:
            acknowledge(
                self.replication_group,
                "AwsSolutions-AEC6",
                reason=(
                    "Clients do authenticate, more strictly than with AUTH: the group uses role-based access "
                    "control, a user group of IAM-authenticated users (15-minute tokens, one user per service, "
                    "each limited to its key prefixes) and a disabled default user. The rule only recognises "
                    "the single shared AUTH token, which RBAC replaces."
                ),
            )
            acknowledge(
                self.default_user_secret,
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
        elif self.secret_created and self.auth_secret is not None:
            acknowledge(
                self.auth_secret,
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

    # --- Access and metrics -----------------------------------------------------------------------
    def grant_read_auth_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let `grantee` read the AUTH token (and decrypt it with the key)."""
        if self.auth_secret is None:
            raise ValueError("grant_read_auth_secret: the group uses IAM users, not an AUTH token")
        return self.auth_secret.grant_read(grantee)

    def metric(
        self,
        metric_name: str,
        *,
        member: int = 1,
        statistic: str = "Average",
        period: Duration | None = None,
        unit: cloudwatch.Unit | None = None,
    ) -> cloudwatch.Metric:
        """Metric `metric_name` of one node, namespace ``AWS/ElastiCache``.

        ElastiCache publishes per node, with the dimension ``CacheClusterId`` (and optionally
        ``CacheNodeId``); there is no ``ReplicationGroupId`` dimension for node metrics. In a group with
        cluster mode disabled the nodes are the member clusters ``<group id>-001`` ... ``-00<n>``.
        `member` picks one of them (1-based; default 1, the node created as primary). After a failover
        another member is primary: alarm on every member (see ``member_cluster_ids``) for fleet views.

        :param period: aggregation period (default 1 minute, the rate ElastiCache publishes at).
        """
        if not 1 <= member <= len(self.member_cluster_ids):
            raise ValueError(f"member: must be between 1 and {len(self.member_cluster_ids)}, got {member}")
        return cloudwatch.Metric(
            namespace="AWS/ElastiCache",
            metric_name=metric_name,
            dimensions_map={"CacheClusterId": self.member_cluster_ids[member - 1]},
            statistic=statistic,
            period=period or Duration.minutes(1),
            unit=unit,
        )

    def metric_cpu_utilization(self, *, member: int = 1) -> cloudwatch.Metric:
        """Host CPU of one node, percent (Average). On nodes with 4+ vCPUs prefer engine CPU."""
        return self.metric("CPUUtilization", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_engine_cpu_utilization(self, *, member: int = 1) -> cloudwatch.Metric:
        """CPU of the engine's main thread on one node, percent (Average)."""
        return self.metric("EngineCPUUtilization", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_database_memory_usage_percentage(self, *, member: int = 1) -> cloudwatch.Metric:
        """Share of ``maxmemory`` in use on one node, percent (Average)."""
        return self.metric("DatabaseMemoryUsagePercentage", member=member, unit=cloudwatch.Unit.PERCENT)

    def metric_curr_connections(self, *, member: int = 1) -> cloudwatch.Metric:
        """Client connections open on one node (Maximum), excluding replica links."""
        return self.metric("CurrConnections", member=member, statistic="Maximum", unit=cloudwatch.Unit.COUNT)

    def metric_evictions(self, *, member: int = 1) -> cloudwatch.Metric:
        """Keys evicted by ``maxmemory-policy`` on one node (Sum)."""
        return self.metric("Evictions", member=member, statistic="Sum", unit=cloudwatch.Unit.COUNT)

    def metric_replication_lag(self, *, member: int = 2) -> cloudwatch.Metric:
        """Seconds a replica is behind the primary (Maximum); published by replicas only (default member 2)."""
        return self.metric("ReplicationLag", member=member, statistic="Maximum", unit=cloudwatch.Unit.SECONDS)
