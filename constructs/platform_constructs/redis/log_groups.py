"""The slow log and the engine log: two KMS-encrypted log groups the replication group delivers JSON to."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Names, RemovalPolicy, aws_elasticache as elasticache, aws_kms as kms, aws_logs as logs
from constructs import Construct

from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn


@dataclass(frozen=True)
class LogProps:
    """Where the two logs go and how long they stay (checked when the props are made).

    :param retention: how long slow-log and engine-log entries are kept (not INFINITE).
    :param group_prefix: the log groups are ``<prefix>/slow-log`` and ``<prefix>/engine-log`` (default:
        ``/aws/elasticache/`` and the construct's unique path). The names are explicit so the key policy can
        let CloudWatch Logs use the key for exactly these two groups.
    :param removal_policy: policy of the two log groups (default: as the secret, see the group's
        ``removal_policy``). DESTROY suits a disposable environment that is deployed again after a teardown,
        where a retained group of the same name would collide.
    """

    retention: logs.RetentionDays
    group_prefix: str | None = None
    removal_policy: RemovalPolicy | None = None

    def __post_init__(self) -> None:
        if self.retention == logs.RetentionDays.INFINITE:
            raise ValueError("LogProps.retention: must be a finite retention, got INFINITE")


@dataclass(frozen=True)
class LogGroups:
    slow_log: logs.LogGroup
    engine_log: logs.LogGroup


def create_log_groups(
    scope: Construct, props: LogProps, encryption_key: kms.IKey, default_removal_policy: RemovalPolicy
) -> LogGroups:
    """``SlowLogGroup`` and ``EngineLogGroup``, encrypted with the key, whose policy admits exactly these two."""
    prefix = props.group_prefix or f"/aws/elasticache/{Names.unique_id(scope)}"
    removal_policy = default_removal_policy if props.removal_policy is None else props.removal_policy
    names = {log_type: f"{prefix}/{log_type}" for log_type in ("slow-log", "engine-log")}
    allow_cloudwatch_logs(encryption_key, scope, log_group_arns=[log_group_arn(scope, name) for name in names.values()])
    slow_log = encrypted_log_group(
        scope,
        "SlowLogGroup",
        log_group_name=names["slow-log"],
        retention=props.retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
        admit_in_key_policy=False,  # the statement above admits both groups
    )
    engine_log = encrypted_log_group(
        scope,
        "EngineLogGroup",
        log_group_name=names["engine-log"],
        retention=props.retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
        admit_in_key_policy=False,  # the statement above admits both groups
    )
    return LogGroups(slow_log=slow_log, engine_log=engine_log)


def log_delivery(
    log_type: str, log_group: logs.ILogGroup
) -> elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty:
    """`log_type` (``slow-log`` or ``engine-log``) delivered as JSON to `log_group`."""
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
