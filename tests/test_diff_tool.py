"""`make diff` (tools/diff_stacks.py): real before/after pairs, made from the session's dev synth by editing
a copy of its templates the way a change would, for each thing the guard must catch or let through."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, copy_assembly
from tools.cloud_assembly import read_stacks
from tools.diff_stacks import (
    ALLOW_FILE,
    CANNOT_COMPARE,
    SAFE,
    UNSAFE,
    data_networks,
    load_allowances,
    main as diff_main,
)
from tools.replacement_rules import (
    DATA_NOUNS,
    NOT_DATA_HOLDERS,
    OTHER_DATA_HOLDERS,
    _schemas_dir,
    holds_data,
    upstream_stateful_types,
)
from tools.stack_references import References

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def dev(platform: Callable[[str], SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return platform("dev")


def copy(env: SynthesizedEnvironment, target: Path, record: dict[str, Any] | None = None) -> Path:
    copy_assembly(env.outdir, target)
    if record is not None:
        (target / "baseline.json").write_text(json.dumps(record))
    return target


def template_path(env: SynthesizedEnvironment, assembly: Path, stack: str) -> Path:
    return assembly / f"assembly-{env.stage.node.id}" / env.stack(stack).template_file


def edit(env: SynthesizedEnvironment, assembly: Path, stack: str, change: Edit) -> None:
    path = template_path(env, assembly, stack)
    template = json.loads(path.read_text(encoding="utf-8"))
    change(template)
    path.write_text(json.dumps(template), encoding="utf-8")


def logical_id(template: dict[str, Any], kind: str, prefix: str = "") -> str:
    (found,) = [str(k) for k, r in template["Resources"].items() if r["Type"] == kind and k.startswith(prefix)]
    return found


def props(template: dict[str, Any], kind: str, prefix: str = "") -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id(template, kind, prefix)]["Properties"]
    return properties


def primary(template: dict[str, Any]) -> dict[str, Any]:
    return props(template, "AWS::RDS::DBInstance", "PostgresPrimary")


def run(baseline: Path, current: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = diff_main(["--baseline", str(baseline), "--current", str(current), *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


RECORD = {"ref": "main", "commit": None, "environments": ["dev", "staging", "prod"]}


def test_identical_synths_are_safe_and_summarised_per_stack(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(copy(dev, tmp_path / "base", RECORD), dev.outdir, capsys)
    assert status == SAFE
    assert "== ticketing-dev-data (111111111111/ap-northeast-2): 0 added, 0 changed, 0 replaced, 0 removed" in out
    assert out.count("== ticketing-dev-") == len(dev.stacks)
    assert "diff: no unsafe changes" in out


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("backup retention", lambda t: primary(t).update(BackupRetentionPeriod=3)),
        ("maintenance window", lambda t: primary(t).update(PreferredMaintenanceWindow="sun:01:00-sun:01:30")),
        ("multi-AZ", lambda t: primary(t).update(MultiAZ=True)),
        ("instance class", lambda t: primary(t).update(DBInstanceClass="db.t4g.large")),
        ("cache snapshots", lambda t: props(t, "AWS::ElastiCache::ReplicationGroup").update(SnapshotRetentionLimit=20)),
    ],
)  # fmt: skip
def test_routine_changes_of_stateful_resources_pass(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, change: Edit
) -> None:
    """The baseline had another value: the change updates in place (the schemas' "may be replaced" decided)."""
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, "Data", change)
    status, out, err = run(baseline, dev.outdir, capsys)
    assert status == SAFE, err
    assert "== ticketing-dev-data (111111111111/ap-northeast-2): 0 added, 1 changed, 0 replaced, 0 removed" in out


@pytest.mark.parametrize(
    ("stack", "kind", "prefix", "change", "says"),
    [
        ("Data", "AWS::RDS::DBInstance", "PostgresPrimary", {"DBInstanceIdentifier": "ticketing-dev-old"},
         "would be replaced: DBInstanceIdentifier"),
        ("Data", "AWS::RDS::DBInstance", "PostgresPrimary", {"DBSnapshotIdentifier": "arn:aws:rds:x:1:snapshot:s"},
         "would be replaced: DBSnapshotIdentifier"),
        ("Data", "AWS::ElastiCache::ReplicationGroup", "", {"AtRestEncryptionEnabled": False},
         "would be replaced: AtRestEncryptionEnabled"),
        ("BackupVault", "AWS::Backup::BackupVault", "", {"BackupVaultName": "ticketing-dev-old-backups"},
         "would be replaced: BackupVaultName"),
        ("Data", "AWS::SecretsManager::Secret", "PostgresMasterSecret", {"Name": "old"}, "would be replaced: Name"),
        ("Data", "AWS::KMS::Key", "DataKey", {"KeySpec": "RSA_2048"},
         "CloudFormation refuses the change: KeySpec: KMS cannot change a key's spec"),
    ],
)  # fmt: skip
def test_a_stateful_replacement_or_refused_change_fails_naming_it(
    dev: SynthesizedEnvironment,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    stack: str,
    kind: str,
    prefix: str,
    change: dict[str, Any],
    says: str,
) -> None:
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, stack, lambda t: props(t, kind, prefix).update(change))
    status, _, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert f"{kind} {prefix}" in err
    assert says in err


def test_a_stateless_replacement_is_counted_not_refused(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, "Monitoring", lambda t: props(t, "AWS::Events::Rule", "StartFailure").update(Name="old"))
    status, out, _ = run(baseline, dev.outdir, capsys)
    assert status == SAFE
    assert "ticketing-dev-monitoring (111111111111/ap-northeast-2): 0 added, 0 changed, 1 replaced, 0 removed" in out


def test_removing_a_stateful_resource_fails_and_a_stateless_one_passes(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The baseline had one more secret (stateful) and one more alarm (stateless) than the change."""
    baseline = copy(dev, tmp_path / "base", RECORD)

    def extra(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["OldSecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {}, "DeletionPolicy": "Delete"}
        resources["OldAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {}}

    edit(dev, baseline, "Data", extra)
    status, out, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert "0 replaced, 2 removed" in out
    assert "AWS::SecretsManager::Secret OldSecret would be removed (deleted; DeletionPolicy Delete)" in err
    assert "OldAlarm" not in err


@pytest.mark.parametrize(
    ("rewrite", "says"),
    [
        (lambda m: m.update(environment="aws://111111111111/eu-west-1"), "moved to 111111111111/eu-west-1"),
        (lambda m: m["properties"].update(stackName="ticketing-dev-database"), "renamed to ticketing-dev-database"),
        (None, "removed from the app"),
    ],
)
def test_a_baseline_stack_the_change_no_longer_deploys_fails_when_it_holds_data(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str], rewrite: Any, says: str
) -> None:
    """Moving, renaming or dropping the data stack: a new stack would be created and the old one's data left
    behind (or deleted with it); the guard pairs stacks by account, region and name, so it sees all three."""
    current = copy(dev, tmp_path / "current")
    manifest_path = current / f"assembly-{dev.stage.node.id}" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (data_id,) = [k for k, a in manifest["artifacts"].items() if a.get("displayName") == "Dev/Data"]
    if rewrite is None:
        del manifest["artifacts"][data_id]
    else:
        rewrite(manifest["artifacts"][data_id])
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    status, out, err = run(copy(dev, tmp_path / "base", RECORD), current, capsys)
    assert status == UNSAFE
    assert f"== ticketing-dev-data (111111111111/ap-northeast-2) ({says}" in out
    assert "stack ticketing-dev-data" in err
    assert "AWS::RDS::DBInstance PostgresPrimary" in err


def test_an_allow_list_entry_lets_one_reviewed_change_through(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, "Data", lambda t: props(t, "AWS::RDS::DBInstance", "PostgresPrimary").update(
        DBInstanceIdentifier="ticketing-dev-old"))  # fmt: skip
    primary = logical_id(json.loads(template_path(dev, baseline, "Data").read_text()), "AWS::RDS::DBInstance",
                         "PostgresPrimary")  # fmt: skip
    replica = logical_id(json.loads(template_path(dev, baseline, "Data").read_text()), "AWS::RDS::DBInstance",
                         "PostgresReplica1")  # fmt: skip
    allow = tmp_path / "allow.toml"
    entry = '[[allow]]\nstack = "ticketing-dev-data"\nlogical_id = "{}"\nreason = "restored on purpose"\n'
    allow.write_text(entry.format(primary))
    status, _, err = run(baseline, dev.outdir, capsys, "--allow", str(allow))
    assert status == UNSAFE  # the replica follows its primary: its source, a create-only reference, is replaced
    assert f"AWS::RDS::DBInstance {replica} would be replaced: a create-only property refers to {primary}" in err
    allow.write_text(entry.format(primary) + entry.format(replica))
    status, out, _ = run(baseline, dev.outdir, capsys, "--allow", str(allow))
    assert status == SAFE
    assert f"allowed: AWS::RDS::DBInstance {primary} would be replaced" in out
    assert "(allowed: restored on purpose)" in out
    allow.write_text(f'[[allow]]\nstack = "ticketing-dev-data"\nlogical_id = "{primary}"\n')
    status, _, err = run(baseline, dev.outdir, capsys, "--allow", str(allow))
    assert status == CANNOT_COMPARE
    assert "allow[0] lacks reason" in err


def test_the_committed_allow_list_allows_nothing(dev: SynthesizedEnvironment) -> None:

    assert load_allowances(ALLOW_FILE) == []


@pytest.mark.parametrize(
    ("args", "record", "says"),
    [
        (["--env", "qa"], RECORD, "no stack of environment 'qa'"),
        (["--env", "dev"], {"ref": "main", "commit": None, "environments": ["prod"]},
         "the baseline was built for prod, not dev: run `make baseline ENV=dev`"),
    ],
)  # fmt: skip
def test_what_cannot_be_compared_never_passes(
    dev: SynthesizedEnvironment,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    record: dict[str, Any],
    says: str,
) -> None:
    status, _, err = run(copy(dev, tmp_path / "base", record), dev.outdir, capsys, *args)
    assert status == CANNOT_COMPARE
    assert says in err


def test_a_baseline_without_a_record_or_of_a_foreign_commit_is_named(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(copy(dev, tmp_path / "plain"), dev.outdir, capsys)
    assert status == SAFE
    assert "the baseline records no commit" in out
    foreign = {"ref": "feature", "commit": "0123456789abcdef0123456789abcdef01234567", "environments": ["dev"]}
    status, out, _ = run(copy(dev, tmp_path / "foreign", foreign), dev.outdir, capsys)
    assert "baseline: feature at 0123456789ab" in out


def test_a_missing_assembly_cannot_be_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(tmp_path, tmp_path, capsys)
    assert status == CANNOT_COMPARE
    assert "is not a cloud assembly" in err


def test_an_assembly_with_open_findings_is_not_compared(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused synth cannot be reviewed as if it were deployable."""
    current = copy(dev, tmp_path / "current")
    violation = {"ruleName": "AwsSolutions-KMS5", "description": "no rotation", "violatingConstructs": [{}]}
    report = {"pluginReports": [{"pluginName": "AwsSolutions", "violations": [violation]}]}
    (current / "validation-report.json").write_text(json.dumps(report))
    status, _, err = run(dev.outdir, current, capsys)
    assert status == CANNOT_COMPARE
    assert "1 open compliance finding(s)" in err


def test_a_replaced_subnet_group_replaces_the_database_that_refers_to_it(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The subnet group is stateless, but the instance's DBSubnetGroupName (create-only) refers to it."""
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, "Data", lambda t: props(t, "AWS::RDS::DBSubnetGroup").update(DBSubnetGroupName="old-group"))
    status, _, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert "AWS::RDS::DBInstance PostgresPrimary" in err
    assert "a create-only property refers to PostgresSubnetGroup" in err


def test_a_new_condition_on_a_database_is_a_possible_removal(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = copy(dev, tmp_path / "current")
    edit(dev, current, "Data", lambda t: t["Resources"][logical_id(t, "AWS::RDS::DBInstance", "PostgresPrimary")]
         .update(Condition="Never"))  # fmt: skip
    status, _, err = run(copy(dev, tmp_path / "base", RECORD), current, capsys)
    assert status == UNSAFE
    assert "Condition None -> Never: it may not be created" in err


def test_a_kms_default_written_out_is_no_change(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = copy(dev, tmp_path / "current")
    edit(dev, current, "Data", lambda t: props(t, "AWS::KMS::Key", "DataKey").update(
        KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT", MultiRegion=False))  # fmt: skip
    status, _, err = run(copy(dev, tmp_path / "base", RECORD), current, capsys)
    assert status == SAFE, err


def test_a_regenerated_secret_value_is_a_loss(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, "Data", lambda t: props(t, "AWS::SecretsManager::Secret", "PostgresMasterSecret")[
        "GenerateSecretString"].update(PasswordLength=12))  # fmt: skip
    status, _, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert "GenerateSecretString: a new value is generated: the stored one is lost" in err


def test_an_environment_dropped_from_the_change_fails_when_all_are_compared(
    dev: SynthesizedEnvironment,
    platform: Callable[[str], SynthesizedEnvironment],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A baseline of dev and prod against a change that has only dev: prod's data stacks would be stranded."""
    baseline = copy(dev, tmp_path / "base")
    prod = platform("prod")
    copy_assembly(prod.outdir / "assembly-Prod", baseline / "assembly-Prod")
    manifest = json.loads((baseline / "manifest.json").read_text())
    manifest["artifacts"].update(json.loads((prod.outdir / "manifest.json").read_text())["artifacts"])
    (baseline / "manifest.json").write_text(json.dumps(manifest))
    (baseline / "baseline.json").write_text(json.dumps(RECORD | {"environments": ["dev", "prod"]}))
    status, out, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert "== ticketing-prod-data (333333333333/ap-northeast-2) (gone with its whole environment prod" in out
    assert "stack ticketing-prod-data gone with its whole environment prod" in err
    status, _, _ = run(baseline, dev.outdir, capsys, "--env", "dev")
    assert status == SAFE  # comparing dev alone is what a partial synth should do


def test_an_unreadable_template_cannot_be_compared_rather_than_unsafe(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = copy(dev, tmp_path / "current")
    template_path(dev, current, "Data").write_text("{ not json")
    status, _, err = run(copy(dev, tmp_path / "base", RECORD), current, capsys)
    assert status == CANNOT_COMPARE
    assert "JSONDecodeError" in err


@pytest.mark.slow  # through make, as the README runs it
def test_make_diff_passes_a_safe_change_and_fails_an_unsafe_one(dev: SynthesizedEnvironment, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PATH": f"{root / '.venv' / 'bin'}:{os.environ['PATH']}"}
    baseline = copy(dev, tmp_path / "base", RECORD)

    def make_diff() -> subprocess.CompletedProcess[str]:
        command = ["make", "--no-print-directory", "diff", f"OUT={dev.outdir}", f"BASELINE={baseline}", "ENV=dev"]
        return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)

    passed = make_diff()
    assert passed.returncode == 0, passed.stderr[-2000:]
    assert "diff: no unsafe changes" in passed.stdout
    edit(dev, baseline, "Data", lambda t: primary(t).update(DBInstanceIdentifier="ticketing-dev-old"))
    failed = make_diff()
    assert failed.returncode != 0
    assert "diff: 2 unsafe change(s):" in failed.stderr


# --- What holds data, and the network it sits in ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::ElastiCache::ReplicationGroup",
     "AWS::ElastiCache::ServerlessCache", "AWS::MemoryDB::Cluster", "AWS::DynamoDB::Table", "AWS::S3::Bucket",
     "AWS::S3Express::DirectoryBucket", "AWS::ECR::Repository", "AWS::CodeCommit::Repository",
     "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::KMS::ReplicaKey", "AWS::Backup::BackupVault",
     "AWS::Backup::LogicallyAirGappedBackupVault", "AWS::Logs::LogGroup", "AWS::EFS::FileSystem",
     "AWS::FSx::Volume", "AWS::EC2::Volume", "AWS::Kinesis::Stream", "AWS::SQS::Queue", "AWS::MSK::Cluster",
     "AWS::AmazonMQ::Broker", "AWS::Events::Archive", "AWS::Cognito::UserPool", "AWS::RDS::DBSnapshot"],
)  # fmt: skip
def test_every_kind_of_store_holds_data(kind: str) -> None:
    assert holds_data(kind)


@pytest.mark.parametrize(
    "kind",
    ["AWS::EC2::RouteTable", "AWS::Batch::JobQueue", "AWS::KinesisFirehose::DeliveryStream", "AWS::SNS::Topic",
     "AWS::Lambda::Function", "AWS::EC2::SecurityGroup", "AWS::RDS::DBProxy", "AWS::SSM::Parameter",
     "AWS::SageMaker::CodeRepository", "AWS::ECS::Service", "AWS::RDS::DBParameterGroup"],
)  # fmt: skip
def test_configuration_and_pipes_hold_no_data(kind: str) -> None:
    assert not holds_data(kind)


def test_the_data_rules_name_real_types_and_keep_cfn_lints_list() -> None:
    """Every type the rules name exists in CloudFormation (cfn-lint's schemas, any region), every exception
    would otherwise match a data noun (no dead entries), and cfn-lint's stateful types all hold data."""
    every_type: set[str] = set()
    for path in (_schemas_dir() / "providers").glob("*.json"):
        every_type |= set(json.loads(path.read_text(encoding="utf-8")))
    named = set(OTHER_DATA_HOLDERS) | set(NOT_DATA_HOLDERS)
    assert named - every_type == set()
    assert [k for k in NOT_DATA_HOLDERS if not k.rsplit("::", 1)[-1].endswith(DATA_NOUNS)] == []
    assert upstream_stateful_types(), "cfn-lint's StatefulResources.json was not found"
    assert [k for k in upstream_stateful_types() if not holds_data(k)] == []


def test_the_network_of_the_data_tier_is_followed_across_stacks(dev: SynthesizedEnvironment) -> None:
    """From the databases and the cache to their subnet groups and security groups (data stack), and through
    the weak cross-stack references to the VPC and the isolated subnets (network stack)."""
    stacks = read_stacks(dev.outdir)
    networks = data_networks(stacks, References(stacks))
    found = {(key[2], type_of(dev, key[2], logical_id)): holders for (key, logical_id), holders in networks.items()}
    primary = next(h for hs in networks.values() for h in hs if "PostgresPrimary" in h)
    cache = next(h for hs in networks.values() for h in hs if "AWS::ElastiCache::ReplicationGroup" in h)
    network, data = "ticketing-dev-network", "ticketing-dev-data"
    assert {primary, cache} <= set(found[(network, "AWS::EC2::VPC")])
    subnets = [hs for (stack, kind), hs in found.items() if (stack, kind) == (network, "AWS::EC2::Subnet")]
    assert subnets
    assert {primary, cache} <= set(found[(data, "AWS::RDS::DBSubnetGroup")]) | set(
        found[(data, "AWS::ElastiCache::SubnetGroup")]
    )
    kinds = {kind for _, kind in found}
    assert kinds == {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup", "AWS::RDS::DBSubnetGroup",
                     "AWS::ElastiCache::SubnetGroup"}  # fmt: skip
    # The network's other subnets (public, private) hold no data: a new one strands nothing.
    template = dev.template_json("Network")
    isolated = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::Subnet" and "Isolated" in k}
    assert {logical_id for (key, logical_id) in networks if key[2] == network and "Subnet" in logical_id
            and type_of(dev, network, logical_id) == "AWS::EC2::Subnet"} == isolated  # fmt: skip


def type_of(env: SynthesizedEnvironment, stack_name: str, logical_id: str) -> str:
    stack = next(s for s in env.stacks if s.stack_name == stack_name)
    return str(env.template_json(stack.node.id)["Resources"][logical_id]["Type"])


def make_diff(baseline: Path, current: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`make diff` as the README runs it, on these two assemblies."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PATH": f"{root / '.venv' / 'bin'}:{os.environ['PATH']}"}
    command = ["make", "--no-print-directory", "diff", f"OUT={current}", f"BASELINE={baseline}", *extra]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)


def unsafe_lines(stderr: str) -> list[tuple[str, str, str]]:
    """(stack, type, logical ID) of each unsafe line `make diff` prints."""
    return re.findall(r"^  - ([\w-]+): (AWS::\w+::\w+) (\w+) ", stderr, flags=re.MULTILINE)


def set_property(stack: str, kind: str, prefix: str, **values: Any) -> Edit:
    return lambda t: props(t, kind, prefix).update(values)


@pytest.mark.slow  # one `make diff` per class of change, as a user runs it
@pytest.mark.parametrize(
    ("what", "stack", "change", "named", "says"),
    [
        ("the VPC's CIDR", "Network", set_property("Network", "AWS::EC2::VPC", "", CidrBlock="10.250.0.0/16"),
         {("ticketing-dev-network", "AWS::EC2::VPC"), ("ticketing-dev-network", "AWS::EC2::Subnet"),
          ("ticketing-dev-data", "AWS::EC2::SecurityGroup")},
         "it is the network of AWS::ElastiCache::ReplicationGroup Cache18F6EE16 (ticketing-dev-data), "
         "AWS::RDS::DBInstance PostgresPrimary"),
        ("an isolated subnet's CIDR", "Network",
         set_property("Network", "AWS::EC2::Subnet", "NetworkVpcIsolatedSubnet1", CidrBlock="10.250.0.0/24"),
         {("ticketing-dev-network", "AWS::EC2::Subnet")},
         "it is the network of AWS::ElastiCache::ReplicationGroup Cache"),
        ("the database's security group", "Data",
         set_property("Data", "AWS::EC2::SecurityGroup", "PostgresSecurityGroup", GroupDescription="old"),
         {("ticketing-dev-data", "AWS::EC2::SecurityGroup")},
         "it is the security group of AWS::RDS::DBInstance PostgresPrimary"),
        ("the cache's subnet group", "Data",
         set_property("Data", "AWS::ElastiCache::SubnetGroup", "", CacheSubnetGroupName="old-cache-subnets"),
         {("ticketing-dev-data", "AWS::ElastiCache::SubnetGroup"),
          ("ticketing-dev-data", "AWS::ElastiCache::ReplicationGroup")},
         "it is the network of AWS::ElastiCache::ReplicationGroup Cache"),
        ("a container repository's name", "Registry",
         set_property("Registry", "AWS::ECR::Repository", "bookings", RepositoryName="ticketing/dev/old-bookings"),
         {("ticketing-dev-registry", "AWS::ECR::Repository")}, None),
    ],
)  # fmt: skip
def test_make_diff_refuses_each_class_of_data_loss_and_the_allow_list_still_admits_it(
    dev: SynthesizedEnvironment,
    tmp_path: Path,
    what: str,
    stack: str,
    change: Edit,
    named: set[tuple[str, str]],
    says: str | None,
) -> None:
    """The baseline (what is deployed) differs from the change in one thing; no database is replaced unless the
    thing is one a database's create-only property names. Allow-listing exactly the named IDs lets it pass."""
    baseline = copy(dev, tmp_path / "base", RECORD)
    edit(dev, baseline, stack, change)
    refused = make_diff(baseline, dev.outdir, "ENV=dev")
    assert refused.returncode != 0, refused.stdout
    lines = unsafe_lines(refused.stderr)
    assert {(s, kind) for s, kind, _ in lines} == named, refused.stderr
    if says is not None:
        assert says in refused.stderr, refused.stderr
    assert not [line for line in lines if line[1] == "AWS::RDS::DBInstance"], f"{what}: {refused.stderr}"
    allow = tmp_path / "allow.toml"
    allow.write_text("".join(f'[[allow]]\nstack = "{s}"\nlogical_id = "{i}"\nreason = "reviewed: {what}"\n'
                             for s, _, i in lines))  # fmt: skip
    passed = make_diff(baseline, dev.outdir, "ENV=dev", f"ALLOW={allow}")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.count("(allowed: reviewed: ") == len(lines)


def test_a_removed_container_repository_is_a_loss_whatever_its_policy(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dev's repositories are deleted with their stack (DeletionPolicy Delete), and still hold the images."""
    baseline = copy(dev, tmp_path / "base", RECORD)

    def extra(template: dict[str, Any]) -> None:
        template["Resources"]["OldRepository"] = {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Delete",
                                                  "Properties": {"RepositoryName": "ticketing/dev/old"}}  # fmt: skip

    edit(dev, baseline, "Registry", extra)
    status, _, err = run(baseline, dev.outdir, capsys)
    assert status == UNSAFE
    assert "ticketing-dev-registry: AWS::ECR::Repository OldRepository would be removed (deleted" in err


def test_a_renamed_network_stack_strands_the_data_tier(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new stack would build a new network; the data tier sits in the old one's VPC and subnets."""
    current = copy(dev, tmp_path / "current")
    manifest_path = current / f"assembly-{dev.stage.node.id}" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (network_id,) = [k for k, a in manifest["artifacts"].items() if a.get("displayName") == "Dev/Network"]
    manifest["artifacts"][network_id]["properties"]["stackName"] = "ticketing-dev-net"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    status, _, err = run(copy(dev, tmp_path / "base", RECORD), current, capsys)
    assert status == UNSAFE
    moved = "ticketing-dev-network: stack ticketing-dev-network renamed to ticketing-dev-net, with "
    assert f"{moved}AWS::EC2::VPC" in err
    network = dev.template_json("Network")["Resources"]
    isolated = [k for k, r in network.items() if r["Type"] == "AWS::EC2::Subnet" and "Isolated" in k]
    assert isolated
    assert all(f"{moved}AWS::EC2::Subnet {subnet}" in err for subnet in isolated), err
    assert "it is the network of AWS::ElastiCache::ReplicationGroup" in err


# --- a physical name that moves to another logical ID (hand-written templates) -----------------------------


def write_assembly(outdir: Path, stacks: dict[str, dict[str, Any]], region: str = "ap-northeast-2") -> Path:
    """A minimal cloud assembly: one stage (Dev) of `stacks` (stack name -> Resources) in one region."""
    nested = outdir / "assembly-Dev"
    nested.mkdir(parents=True)
    artifacts = {}
    for name, template_resources in stacks.items():
        artifact = name.replace("-", "")
        (nested / f"{artifact}.template.json").write_text(json.dumps({"Resources": template_resources}))
        artifacts[artifact] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://111111111111/{region}",
            "displayName": f"Dev/{name}",
            "properties": {"templateFile": f"{artifact}.template.json", "stackName": name},
        }
    (nested / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    top = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Dev", "displayName": "Dev"}}
    (outdir / "manifest.json").write_text(json.dumps({"artifacts": {"assembly-Dev": top}}))
    (outdir / "baseline.json").write_text(json.dumps(RECORD))
    return outdir


PARAMETER: dict[str, Any] = {
    "Type": "AWS::SSM::Parameter",
    "Properties": {"Name": "/ticketing/dev/data/cache/port", "Type": "String", "Value": "6379"},
}
ALARM: dict[str, Any] = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {"AlarmName": "ticketing-dev-database-cpu", "Threshold": 80},
}
STACK_LOG = {"Fn::Join": ["", ["/aws/vendedlogs/", {"Ref": "AWS::StackName"}]]}
LOG_GROUP = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "Properties": {"LogGroupName": STACK_LOG}}
NAMED = {"CachePort": PARAMETER, "DatabaseCpu": ALARM, "ExecutionLog": LOG_GROUP}


def test_a_named_resource_moved_to_a_new_logical_id_is_unsafe_naming_both_ids_and_the_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = write_assembly(tmp_path / "base", {"ticketing-dev-data": NAMED})
    moved = {f"{logical_id}Moved": resource for logical_id, resource in NAMED.items()}
    status, out, err = run(baseline, write_assembly(tmp_path / "current", {"ticketing-dev-data": moved}), capsys)
    assert status == UNSAFE
    assert "3 added, 0 changed, 0 replaced, 3 removed" in out
    for logical_id, kind, name in (
        ("CachePort", "AWS::SSM::Parameter", "/ticketing/dev/data/cache/port"),
        ("DatabaseCpu", "AWS::CloudWatch::Alarm", "ticketing-dev-database-cpu"),
        ("ExecutionLog", "AWS::Logs::LogGroup", "/aws/vendedlogs/ticketing-dev-data"),  # Fn::Join resolved
    ):
        line = (f"ticketing-dev-data: {kind} {logical_id}Moved would be created with the name {name!r} that "
                f"{logical_id} (ticketing-dev-data) holds")  # fmt: skip
        assert line in err, err
    assert err.count('fails with "already exists"') == 3


def test_a_named_resource_moved_into_another_stack_of_the_region_is_unsafe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = write_assembly(tmp_path / "base", {"ticketing-dev-data": {"CachePort": PARAMETER},
                                                  "ticketing-dev-services": {}})  # fmt: skip
    current = write_assembly(tmp_path / "current", {"ticketing-dev-data": {},
                                                    "ticketing-dev-services": {"CachePort": PARAMETER}})  # fmt: skip
    status, _, err = run(baseline, current, capsys)
    assert status == UNSAFE
    assert "ticketing-dev-services: AWS::SSM::Parameter CachePort would be created with the name " in err
    assert "that CachePort (ticketing-dev-data) holds" in err


@pytest.mark.parametrize(
    ("what", "current", "summary"),
    [
        ("a new name under the same logical ID", {**NAMED, "DatabaseCpu": {**ALARM, "Properties": {
            **ALARM["Properties"], "AlarmName": "ticketing-dev-database-cpu-high"}}},
         "0 added, 0 changed, 1 replaced, 0 removed"),
        ("a removed resource with no matching add", {"CachePort": PARAMETER, "DatabaseCpu": ALARM},
         "0 added, 0 changed, 0 replaced, 1 removed"),
        ("a new resource with a name no one gives up", {**NAMED, "MemoryAlarm": {**ALARM, "Properties": {
            "AlarmName": "ticketing-dev-database-memory"}}},
         "1 added, 0 changed, 0 replaced, 0 removed"),
    ],
)  # fmt: skip
def test_renames_plain_removals_and_new_names_are_judged_as_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, current: dict[str, Any], summary: str
) -> None:
    baseline = write_assembly(tmp_path / "base", {"ticketing-dev-data": NAMED})
    status, out, err = run(baseline, write_assembly(tmp_path / "current", {"ticketing-dev-data": current}), capsys)
    assert status == SAFE, err
    assert f"== ticketing-dev-data (111111111111/ap-northeast-2): {summary}" in out


def test_a_name_known_only_at_deploy_time_is_not_compared_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attribute = {"Fn::Join": ["-", ["ticketing", {"Fn::GetAtt": ["Function", "Arn"]}]]}
    unknown = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": attribute}}
    baseline = write_assembly(tmp_path / "base", {"ticketing-dev-data": {"Old": unknown}})
    status, out, _ = run(baseline, write_assembly(tmp_path / "current", {"ticketing-dev-data": {"New": unknown}}),
                         capsys)  # fmt: skip
    assert status == SAFE
    assert ("note: names known only at deploy time, not compared for collisions: AWS::CloudWatch::Alarm Old "
            "(ticketing-dev-data), AWS::CloudWatch::Alarm New (ticketing-dev-data)") in out  # fmt: skip


def test_the_allow_list_admits_a_reviewed_name_move(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = write_assembly(tmp_path / "base", {"ticketing-dev-data": {"DatabaseCpu": ALARM}})
    current = write_assembly(tmp_path / "current", {"ticketing-dev-data": {"DatabaseCpuMoved": ALARM}})
    allow = tmp_path / "allow.toml"
    allow.write_text('[[allow]]\nstack = "ticketing-dev-data"\nlogical_id = "DatabaseCpuMoved"\n'
                     'reason = "moved by stack refactoring before this deploy"\n')  # fmt: skip
    status, out, _ = run(baseline, current, capsys, "--allow", str(allow))
    assert status == SAFE
    assert "allowed: AWS::CloudWatch::Alarm DatabaseCpuMoved would be created with the name" in out
