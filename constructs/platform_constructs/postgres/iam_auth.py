"""IAM database authentication: the ``rds-db:connect`` ARNs that name a database user on an instance or proxy."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack, aws_rds as rds
from constructs import IConstruct


def dbi_resource_id(instance: rds.IDatabaseInstance) -> str:
    """The instance's DbiResourceId (``db-...``), what ``rds-db:connect`` ARNs name.

    Read from the L1 attribute, not ``instance_resource_id``: for a read replica that property is the
    resource id only under a feature flag (setCorrectValueForDatabaseInstanceReadReplicaInstanceResourceId),
    which `python app.py` without the CLI does not set.
    """
    cfn = instance.node.default_child
    if not isinstance(cfn, rds.CfnDBInstance):  # pragma: no cover - instances made here are L2 over CfnDBInstance
        raise RuntimeError(f"{instance.node.path}: no CfnDBInstance")
    return cfn.attr_dbi_resource_id


def dbuser_arn(scope: IConstruct, resource_id: str, db_user: str) -> str:
    """``arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>/<db user>``."""
    return Stack.of(scope).format_arn(
        service="rds-db",
        resource="dbuser",
        resource_name=f"{resource_id}/{db_user}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
