"""Backup vault stacks: where the database's recovery points live, apart from everything disposable.

Two per environment, each holding one RecoveryVault (its own key, deletion of recovery points
denied, locked in prod):

- `ticketing-<env>-backup-vault` in the main region: the backup plan's vault;
- `ticketing-<env>-backup-copies` in `backup.copy_region`: the vault every daily point is copied to,
  under a key of that region, so the copies stay readable when the main region is gone.

They are their own stacks, deployed before the data stack (whose plan names both vaults by their
fixed names, no cross-stack or cross-region reference) and never torn down, not even in dev: a vault
with recovery points cannot be deleted, and a retained vault in the data stack would collide by name
when dev is deployed again after a teardown. Termination protection is on in every environment.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from constructs import Construct

from config.schema import EnvironmentConfig

# Importable from here too while the data stack moves to `physical_names`.
from platform_constructs.physical_names import (
    backup_vault_name as backup_vault_name,
    copy_vault_name as copy_vault_name,
)
from platform_constructs.recovery_vault import RecoveryVault, VaultLockSettings
from stacks.platform_stack import PlatformStack


def vault_lock(config: EnvironmentConfig) -> VaultLockSettings | None:
    lock = config.backup.vault_lock
    if lock is None:
        return None
    return VaultLockSettings(
        min_retention=Duration.days(lock.min_retention_days),
        max_retention=Duration.days(lock.max_retention_days),
        changeable_for=Duration.days(lock.changeable_for_days),
    )


class BackupVaultStack(PlatformStack):
    """Exposes ``vault`` (the RecoveryVault)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vault_name: str,
        holds: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.vault = RecoveryVault(
            self,
            "Vault",
            vault_name=vault_name,
            description=f"ticketing {config.name}: {holds}",
            lock=vault_lock(config),
        )
