"""A backup vault for recovery points that must outlive mistakes, attacks and the stack itself.

- Its own customer-managed key (rotated, retained), reachable by a fixed alias so that a backup role
  in another stack or region is granted it by alias (`kms:ResourceAliases`), never by a key ARN
  that would need a cross-region reference. The key policy denies everyone scheduling the key's
  deletion or disabling it (`deny_key_destruction`): either would make every point under it
  unreadable. (RDS recovery points in the source region stay under the instance's own key; copies
  are re-encrypted with the destination vault's.)
- The vault policy denies everyone deleting a recovery point or shortening its lifecycle; AWS
  Backup's own expiry of points past their retention is not an API call and is unaffected.
- Optionally AWS Backup Vault Lock in compliance mode: a minimum and maximum retention that, once
  `changeable_for` has passed, no one (the account's administrators included) can shorten or remove.
- Retained when its stack is deleted: a vault with recovery points cannot be deleted anyway, and the
  points are the reason it exists.

The vault name is fixed (`vault_arn` builds its ARN anywhere), so a backup plan in another stack or
region names it as a copy destination without a cross-stack reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack, aws_backup as backup, aws_iam as iam, aws_kms as kms
from constructs import Construct

from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.protect_retained import KEPT

#: What no one may do to a vault's key: either would make its recovery points unreadable.
KEY_DESTRUCTION = ("kms:ScheduleKeyDeletion", "kms:DisableKey")
#: What a role needs of a vault's key to copy recovery points in (AWS Backup's documented set).
KEY_USE_FOR_COPIES = (
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)


@dataclass(frozen=True)
class VaultLockSettings:
    """Vault Lock: recovery points are kept `min_retention` to `max_retention`; the lock itself can be
    removed only within `changeable_for` of being set (compliance mode), never afterwards."""

    min_retention: Duration
    max_retention: Duration
    changeable_for: Duration


def vault_arn(account: str, region: str, vault_name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{vault_name}"


def vault_key_alias(vault_name: str) -> str:
    return f"alias/{vault_name}-vault"


class RecoveryVault(Construct):
    """Exposes ``vault``, ``key`` and ``key_alias``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vault_name: str,
        description: str,
        lock: VaultLockSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if lock is not None and lock.min_retention.to_days() > lock.max_retention.to_days():
            raise ValueError(f"{vault_name}: the lock's min_retention exceeds its max_retention")
        self.key = customer_managed_key(
            self, "Key", description=f"{description}: the recovery points of the vault {vault_name}"
        )
        deny_key_destruction(self.key)
        self.key_alias = vault_key_alias(vault_name)
        kms.Alias(self, "KeyAlias", alias_name=self.key_alias, target_key=self.key)
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=vault_name,
            encryption_key=self.key,
            block_recovery_point_deletion=True,
            lock_configuration=backup.LockConfiguration(
                min_retention=lock.min_retention, max_retention=lock.max_retention, changeable_for=lock.changeable_for
            )
            if lock
            else None,
            # A fixed name: kept on update and delete, deleted by a failed create (it is empty then), so the
            # retry does not collide with it.
            removal_policy=KEPT,
        )
        self.vault_name = vault_name


def deny_key_destruction(key: kms.Key) -> None:
    """Deny everyone scheduling `key`'s deletion or disabling it: what it encrypted would become unreadable.

    The account's administrators keep kms:PutKeyPolicy (KMS requires someone to), so they could remove
    this statement first; it stops mistakes and automation, not a determined administrator (the vault
    lock and a separate backup account are the guards against that)."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="NoOneDestroysTheRecoveryPointsKey",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=list(KEY_DESTRUCTION),
            resources=["*"],
        )
    )


def copy_key_statement(scope: Construct, region: str, vault_name: str) -> iam.PolicyStatement:
    """Lets a backup role use the key of `vault_name` in `region` (this account) to copy into it, by alias."""
    stack = Stack.of(scope)
    return iam.PolicyStatement(
        sid="CopyIntoTheCopyVault",
        actions=list(KEY_USE_FOR_COPIES),
        resources=[f"arn:aws:kms:{region}:{stack.account}:key/*"],
        conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": vault_key_alias(vault_name)}},
    )
