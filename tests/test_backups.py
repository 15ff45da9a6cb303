"""Backups out of the region and the restore drill, per environment: the plan, its selection, the copy
actions, the vaults (their lock, key and access policies), the order stacks deploy in, and the
drill's state machine, schedule and permissions. The drill's steps are tested in
test_restore_drill.py; the config's rules in test_backup_config.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config.backup import database_windows
from config.loader import validate_environment
from platform_constructs.physical_names import (
    backup_vault_name,
    copy_vault_name,
    drill_instance_prefix,
    drill_state_machine_name,
    postgres_identifier,
)
from stacks.compliance import synthesize
from stacks.platform_app import build_app, feature_flags, new_app
from stacks.platform_stage import PlatformStage
from tests.conftest import SynthesizedEnvironment
from tests.test_config_validation import with_change

#: The two vaults by the suffix the parametrised tests name them with.
VAULT_NAMES = {"backups": backup_vault_name, "copies": copy_vault_name}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def the_one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources(template, kind).items()
    return logical_id, resource


def test_the_primary_alone_is_in_a_plan_of_point_in_time_and_daily_copied_points(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    _, plan = the_one(data, "AWS::Backup::BackupPlan")
    rules = {rule["RuleName"]: rule for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]}
    assert sorted(rules) == ["Daily", "PointInTime"]
    hour, minute = (int(part) for part in config.backup.daily_at.split(":"))
    assert rules["Daily"]["ScheduleExpression"] == f"cron({minute} {hour} * * ? *)"
    # Never the same window: AWS Backup would run only the rule with the longer retention.
    assert rules["PointInTime"]["ScheduleExpression"] == f"cron({minute} {(hour + 2) % 24} * * ? *)"
    for rule in rules.values():
        assert rule["ScheduleExpressionTimezone"] == config.maintenance.time_zone
        assert rule["TargetBackupVault"] == backup_vault_name(config.name)
    # Continuous backup keeps what RDS keeps, so the two never disagree about the instance's retention.
    assert rules["PointInTime"]["EnableContinuousBackup"] is True
    assert rules["PointInTime"]["Lifecycle"] == {"DeleteAfterDays": config.database.backup_retention_days}
    assert "CopyActions" not in rules["PointInTime"]
    assert rules["Daily"]["Lifecycle"] == {"DeleteAfterDays": config.backup.daily_retention_days}
    assert rules["Daily"]["CopyActions"] == [
        {
            "DestinationBackupVaultArn": f"arn:aws:backup:{config.backup.copy_region}:{config.account}:backup-vault:"
            f"{copy_vault_name(config.name)}",
            "Lifecycle": {"DeleteAfterDays": config.backup.copy_retention_days},
        }
    ]
    _, selection = the_one(data, "AWS::Backup::BackupSelection")
    primary = next(
        k
        for k, r in resources(data, "AWS::RDS::DBInstance").items()
        if "SourceDBInstanceIdentifier" not in r["Properties"]
    )
    assert json.dumps(selection["Properties"]["BackupSelection"]["Resources"]).count('"Ref"') == 1
    assert primary in json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
    role_id = selection["Properties"]["BackupSelection"]["IamRoleArn"]["Fn::GetAtt"][0]
    # No fixed name: IAM names are account-wide, and the runbook deploys the same stack in a second region.
    assert "RoleName" not in data["Resources"][role_id]["Properties"]


def test_the_primarys_backup_plan_finding_is_gone(env: SynthesizedEnvironment) -> None:
    """NIST's RDSInBackupPlan was acknowledged on the primary while it had RDS backups only; now it passes."""
    metadata = json.dumps(
        {path: entries for path, entries in env_metadata(env).items() if path.endswith("/Postgres/Primary/Resource")}
    )
    assert "RDSInBackupPlan" not in metadata


def env_metadata(env: SynthesizedEnvironment) -> dict[str, Any]:
    directory = env.outdir / f"assembly-{env.stage.node.id}"
    data: dict[str, Any] = json.loads(
        (directory / env.stack("Data").template_file.replace(".template.json", ".metadata.json")).read_text()
    )
    return data


def test_the_plans_role_may_copy_with_the_copy_vaults_key_only(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    (policy,) = [
        r["Properties"]
        for r in resources(data, "AWS::IAM::ManagedPolicy").values()
        if "copy vaults' keys" in r["Properties"].get("Description", "")
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == f"arn:aws:kms:{config.backup.copy_region}:{config.account}:key/*"
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{copy_vault_name(config.name)}-vault"}
    }


@pytest.mark.parametrize(
    ("stack", "vault", "region_of"), [("BackupVault", "backups", "region"), ("BackupCopies", "copies", "copy_region")]
)
def test_each_vault_denies_deleting_points_and_its_key_is_indestructible(
    env: SynthesizedEnvironment, stack: str, vault: str, region_of: str
) -> None:
    config = env.config
    deployed = env.stack(stack)
    assert deployed.region == (config.region if region_of == "region" else config.backup.copy_region)
    assert deployed.termination_protection  # never torn down, not even dev's
    template = env.template_json(stack)
    _, backup_vault = the_one(template, "AWS::Backup::BackupVault")
    props = backup_vault["Properties"]
    assert props["BackupVaultName"] == VAULT_NAMES[vault](config.name)
    # Kept on update and delete; a failed create deletes it (empty then), so a retry does not collide.
    assert (backup_vault["DeletionPolicy"], backup_vault["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert props["AccessPolicy"]["Statement"] == [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
            "Resource": "*",
        }
    ]
    lock = config.backup.vault_lock
    if lock is None:
        assert "LockConfiguration" not in props
    else:
        assert props["LockConfiguration"] == {
            "MinRetentionDays": lock.min_retention_days,
            "MaxRetentionDays": lock.max_retention_days,
            "ChangeableForDays": lock.changeable_for_days,
        }
    key_id = props["EncryptionKeyArn"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    denies = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "NoOneDestroysTheRecoveryPointsKey",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["kms:DisableKey", "kms:ScheduleKeyDeletion"],
            "Resource": "*",
        }
    ]
    (alias,) = resources(template, "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == f"alias/{VAULT_NAMES[vault](config.name)}-vault"


def test_prod_locks_its_vaults_and_dev_does_not(platform: Any) -> None:
    assert platform("prod").config.backup.vault_lock is not None
    assert platform("dev").config.backup.vault_lock is None


def test_the_vaults_deploy_before_the_data_stack(env: SynthesizedEnvironment) -> None:
    dependencies = {stack.node.id for stack in env.stack("Data").dependencies}
    assert {"BackupVault", "BackupCopies"} <= dependencies


def test_the_drill_state_machine_cleans_up_after_every_failure(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    _, machine = the_one(data, "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineName"] == drill_state_machine_name(config.name)
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    definition = json.loads(render(props["DefinitionString"]))
    states = definition["States"]
    assert definition["StartAt"] == "Start"
    assert sorted(states) == sorted(
        [
            "Start",
            "WaitForRestore",
            "Check",
            "Ready?",
            "Verify",
            "Cleanup",
            "Done",
            "CleanupAfterFailure",
            "DrillFailed",
        ]
    )
    for step in ("Start", "Check", "Verify"):
        (catch,) = states[step]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "CleanupAfterFailure"}
    assert states["CleanupAfterFailure"]["Next"] == "DrillFailed"
    # The failed step's own error and message end the execution, so `make restore-drill` prints them.
    assert states["DrillFailed"] == {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"}
    assert states["Verify"]["Next"] == "Cleanup"
    for cleanup in ("Cleanup", "CleanupAfterFailure"):
        retries = [r for r in states[cleanup]["Retry"] if r["ErrorEquals"] == ["CleanupPendingError"]]
        assert retries == [
            {"ErrorEquals": ["CleanupPendingError"], "IntervalSeconds": 300, "MaxAttempts": 36, "BackoffRate": 1}
        ]
        assert states[cleanup]["ResultPath"] == "$.cleanup"
    assert states["Ready?"]["Default"] == "WaitForRestore"
    assert states["WaitForRestore"]["Seconds"] == 120
    assert states["Start"]["Parameters"] == {"step": "start"}
    for step in ("Check", "Verify", "Cleanup", "CleanupAfterFailure"):  # the whole state goes to the next step
        assert states[step]["Parameters"] == {"step": step.removesuffix("AfterFailure").lower(), "state.$": "$"}
    timeout_minutes = config.backup.drill.max_wait_minutes + 15 + 5 * 36 + 60  # then Verify, the clean-ups, a margin
    assert definition["TimeoutSeconds"] == timeout_minutes * 60


def render(value: Any) -> str:
    """A Fn::Join of strings and references as text (references as <ref>)."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<ref>" for part in parts)


def test_the_drill_runs_monthly_outside_prod(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    schedules = [
        r["Properties"]
        for r in resources(data, "AWS::Scheduler::Schedule").values()
        if r["Properties"].get("Name", "").endswith("-restore-drill-monthly")
    ]
    if not config.backup.drill.monthly:
        assert config.is_production
        assert schedules == []
        return
    (schedule,) = schedules
    hour, minute = (int(part) for part in config.backup.drill.at.split(":"))
    assert schedule["ScheduleExpression"] == f"cron({minute} {hour} {config.backup.drill.day_of_month} * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == config.maintenance.time_zone
    assert schedule["Target"]["Input"] == "{}"


def drill_function(data: dict[str, Any]) -> dict[str, Any]:
    functions = resources(data, "AWS::Lambda::Function").values()
    (function,) = [dict(r["Properties"]) for r in functions if "restore drill" in r["Properties"]["Description"]]
    return function


def test_the_drill_function_knows_its_queries_and_limits(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    variables = drill_function(data)["Environment"]["Variables"]
    assert variables["VAULT_NAME"] == backup_vault_name(config.name)
    assert variables["INSTANCE_CLASS"] == config.backup.drill.instance_class
    assert variables["MAX_WAIT_MINUTES"] == str(config.backup.drill.max_wait_minutes)
    assert json.loads(variables["QUERIES"]) == [query.model_dump() for query in config.backup.drill.queries]
    assert render(variables["SOURCE_ARN"]).endswith(f":db:{postgres_identifier(config.name)}")


def test_the_drill_may_delete_only_drill_instances(env: SynthesizedEnvironment) -> None:
    config, data = env.config, env.template_json("Data")
    (policy,) = [
        r["Properties"]
        for r in resources(data, "AWS::IAM::ManagedPolicy").values()
        if "restore drill's steps" in r["Properties"].get("Description", "")
    ]
    statements = policy["PolicyDocument"]["Statement"]
    (deleting,) = [s for s in statements if "rds:DeleteDBInstance" in s["Action"]]
    assert render(deleting["Resource"]).endswith(f":db:{drill_instance_prefix(config.name)}*")
    (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Ticketing/Backup"}}


SNAPSHOT = "arn:aws:rds:ap-northeast-2:333333333333:snapshot:awsbackup:job-0123abcd"


@pytest.fixture(scope="module")
def with_backup_account(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """prod with a vault in a separate backup account, its primary restored from a recovery point,
    synthesised with every compliance pack (one App for both variations)."""
    data = with_change("prod", "backup.backup_account", {"account": "444444444444", "vault_name": "ticketing-prod"})
    data["database"]["restore_from"] = {"snapshot_arn": SNAPSHOT, "identifier_suffix": "r1"}
    config = validate_environment(data, source="prod.toml", expected_name="prod")
    outdir = tmp_path_factory.mktemp("backup-account")
    app = build_app([config], new_app(outdir=str(outdir), context=feature_flags()))
    synthesize(app)
    stage = next(child for child in app.node.children if isinstance(child, PlatformStage))
    path = outdir / "assembly-Prod" / stage.data.template_file
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return template


@pytest.mark.slow  # one more App (prod with a backup account and a restored primary)
def test_a_primary_restored_into_the_stack_keeps_its_logical_id_under_a_new_name(
    with_backup_account: dict[str, Any], platform: Any
) -> None:
    """database.restore_from: the same construct restored from the snapshot, a new instance name (the old one
    is still taken while CloudFormation creates the new one), the secret's password, the replicas renamed."""
    instances = resources(with_backup_account, "AWS::RDS::DBInstance")
    before = resources(platform("prod").template_json("Data"), "AWS::RDS::DBInstance")
    assert sorted(instances) == sorted(before)
    primary_id = next(k for k, r in instances.items() if "SourceDBInstanceIdentifier" not in r["Properties"])
    primary = instances[primary_id]["Properties"]
    assert primary["DBSnapshotIdentifier"] == SNAPSHOT
    assert primary["DBInstanceIdentifier"] == "ticketing-prod-postgres-r1"
    for absent in ("StorageEncrypted", "KmsKeyId", "MasterUsername", "DBName"):  # the snapshot's, not settable
        assert absent not in primary
    assert "resolve:secretsmanager" in json.dumps(primary["MasterUserPassword"])
    assert instances[primary_id]["DeletionPolicy"] == "Snapshot"
    replicas = sorted(r["Properties"]["DBInstanceIdentifier"] for k, r in instances.items() if k != primary_id)
    assert replicas == ["ticketing-prod-postgres-r1-replica1", "ticketing-prod-postgres-r1-replica2"]
    _, selection = the_one(with_backup_account, "AWS::Backup::BackupSelection")
    assert primary_id in json.dumps(selection["Properties"]["BackupSelection"]["Resources"])


@pytest.mark.slow  # the same extra App
def test_a_backup_account_gets_a_copy_and_the_data_key(with_backup_account: dict[str, Any]) -> None:
    _, plan = the_one(with_backup_account, "AWS::Backup::BackupPlan")
    daily = next(r for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"] if r["RuleName"] == "Daily")
    destinations = [action["DestinationBackupVaultArn"] for action in daily["CopyActions"]]
    assert destinations == [
        "arn:aws:backup:ap-northeast-3:333333333333:backup-vault:ticketing-prod-copies",
        "arn:aws:backup:ap-northeast-2:444444444444:backup-vault:ticketing-prod",  # same region: RDS copies
        # to another account or another region, never both at once
    ]
    (key,) = [r for k, r in resources(with_backup_account, "AWS::KMS::Key").items() if k.startswith("DataKey")]
    shared = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "BackupAccountCopiesRecoveryPoints"
    ]
    (statement,) = shared
    assert render(statement["Principal"]["AWS"]) == "arn:aws:iam::444444444444:root"
    assert sorted(statement["Action"]) == ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:ReEncryptFrom"]


def test_rds_backs_up_and_maintains_before_aws_backups_daily_point(env: SynthesizedEnvironment) -> None:
    """AWS Backup cannot snapshot an instance during RDS's backup or maintenance window: both come first."""
    config = env.config
    backup_window, maintenance_window = database_windows(config.backup.daily_at, config.maintenance.time_zone)
    for logical_id, instance in resources(env.template_json("Data"), "AWS::RDS::DBInstance").items():
        props = instance["Properties"]
        assert props["PreferredMaintenanceWindow"] == maintenance_window, logical_id
        if "SourceDBInstanceIdentifier" not in props:  # a PostgreSQL replica has no backups of its own
            assert props["PreferredBackupWindow"] == backup_window


def test_the_data_key_under_the_main_regions_points_is_indestructible_too(env: SynthesizedEnvironment) -> None:
    """RDS keeps its recovery points under the instance's key, not the vault's: that key gets the same deny."""
    template = env.template_json("Data")
    (key,) = [r for k, r in resources(template, "AWS::KMS::Key").items() if k.startswith("DataKey")]
    denies = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
    assert [(s["Sid"], s["Action"]) for s in denies] == [
        ("NoOneDestroysTheRecoveryPointsKey", ["kms:DisableKey", "kms:ScheduleKeyDeletion"])
    ]
