"""`make audit` (tools/audit_report.py), checked against the synthesised templates it reports on: counts
agree, every acknowledgment appears in every format, nothing is unencrypted, exposed or unexplained in
the committed environments; and the HTML page opened in a real headless browser."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, copy_assembly
from tools.audit_report import REQUIRED_TAGS, main as audit_main
from tools.cloud_assembly import read_stacks
from tools.compliance_report import collect_acknowledgments

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")  # fmt: skip


@pytest.fixture(scope="module")
def reports(platform: Callable[[str], SynthesizedEnvironment], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("audit")
    for name in ("dev", "prod"):
        assert audit_main([str(platform(name).outdir), "--out", str(out)]) == 0
    return out


def report(reports: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reports / name / "report.json").read_text(encoding="utf-8"))
    return data


def rows(reports: Path, name: str, table: str) -> list[dict[str, str]]:
    with (reports / name / f"{table}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_acknowledgment_appears_in_every_format(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment], name: str
) -> None:
    expected = collect_acknowledgments(platform(name).outdir)
    data = report(reports, name)
    assert len(data["acknowledgments"]) == len(expected) > 0
    markdown = (reports / name / "report.md").read_text(encoding="utf-8")
    page = (reports / name / "report.html").read_text(encoding="utf-8")
    listed = rows(reports, name, "acknowledgments")
    assert len(listed) == len(expected)
    stacks = {s.name: s for s in read_stacks(platform(name).outdir)}
    for row in data["acknowledgments"]:
        stack = stacks[row["stack"]]
        for logical_id in row["logical_id"].split(" and ")[0].split():
            assert logical_id in stack.template["Resources"], row  # a resource of that very stack
            (path,) = [p for p, entries in stack.metadata.items()
                       if {"type": "aws:cdk:logicalId", "data": logical_id} in entries]  # fmt: skip
            assert path == row["path"] or path.startswith(row["path"] + "/"), (row, path)  # inside the construct
        assert row["rule"] in markdown
        assert row["logical_id"].split()[0] in markdown
        assert html.escape(row["rule"]) in page
    assert {(r["path"], r["rule"]) for r in listed} == {(a.path, a.rule) for a in expected}


def wildcard_statements(node: Any) -> int:
    """Allow statements anywhere in a template with a '*' in an action or resource, a NotAction or NotResource,
    or anyone as the principal: counted without the tool's code."""
    if isinstance(node, list):
        return sum(wildcard_statements(item) for item in node)
    if not isinstance(node, dict):
        return 0
    found = 0
    if node.get("Effect") == "Allow" and ("Action" in node or "NotAction" in node):
        text = json.dumps([node.get("Action"), node.get("Resource")])
        principal = node.get("Principal")
        anyone = principal == "*" or (isinstance(principal, dict) and "*" in json.dumps(list(principal.values())))
        found = int("*" in text or "NotAction" in node or "NotResource" in node or anyone)
    return found + sum(wildcard_statements(value) for value in node.values())


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_report_counts_what_the_templates_hold(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment], name: str
) -> None:
    stacks = read_stacks(platform(name).outdir)
    data = report(reports, name)
    assert data["findings"] == []
    packs = {p["pack"]: p["rules"] for p in data["packs"]}
    assert list(packs) == ["AwsSolutions", "NIST.800.53.R5", "PCI.DSS.321", "Serverless", "CloudFormation Validate"]
    assert all(isinstance(packs[name], int) and packs[name] > 10 for name in list(packs)[:4])
    assert {s["name"] for s in data["stacks"]} == {s.name for s in stacks}
    holding = ("RDS::DBInstance", "ElastiCache::ReplicationGroup", "S3::Bucket", "Logs::LogGroup", "KMS::Key",
               "SecretsManager::Secret", "Backup::BackupVault", "SQS::Queue", "ECR::Repository")  # fmt: skip
    expected = {(s.name, k): r.get("DeletionPolicy") for s in stacks for k, r in s.template["Resources"].items()
                if r["Type"].removeprefix("AWS::") in holding}  # fmt: skip
    assert {(r["stack"], r["logical_id"]) for r in data["stateful"]} == set(expected)
    for row in data["stateful"]:
        written = expected[(row["stack"], row["logical_id"])]
        assert row["deletion_policy"] == (written or ("Snapshot (CloudFormation's default)"
                                                     if row["type"] == "AWS::RDS::DBInstance"
                                                     else "Delete (CloudFormation's default)")), row  # fmt: skip
    assert len(data["iam_wildcards"]) == sum(wildcard_statements(s.template) for s in stacks) > 0
    databases = [(s.name, k) for s in stacks for k, r in s.template["Resources"].items()
                 if r["Type"] in ("AWS::RDS::DBInstance", "AWS::ElastiCache::ReplicationGroup", "AWS::S3::Bucket",
                                  "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::Logs::LogGroup")]  # fmt: skip
    assert {(r["stack"], r["logical_id"]) for r in data["encryption"]} >= set(databases)


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_nothing_is_unencrypted_openly_exposed_or_unexplained(reports: Path, name: str) -> None:
    data = report(reports, name)
    for row in data["encryption"]:
        assert row["at_rest"] != "NOT ENCRYPTED", row
        assert row["in_transit"] not in ("NO TLS", "TLS not enforced", "TLS optional"), row
    exposures = sorted(row["type"] for row in data["exposure"])
    # The internet reaches CloudFront (behind WAF) and the ALB, which admits only CloudFront's prefix list.
    assert exposures == ["AWS::CloudFront::Distribution", "AWS::EC2::SecurityGroupIngress",
                         "AWS::ElasticLoadBalancingV2::LoadBalancer"]  # fmt: skip
    assert not any("0.0.0.0/0" in row["exposure"] for row in data["exposure"])
    assert "WAF <" in next(r["exposure"] for r in data["exposure"] if r["type"] == "AWS::CloudFront::Distribution")
    assert data["iam_wildcards"]
    assert [r for r in data["iam_wildcards"] if r["acknowledged"] == "not acknowledged"] == []


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_tag_coverage_is_recounted_from_the_templates(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment], name: str
) -> None:
    data = report(reports, name)
    coverage = data["tag_coverage"]
    assert coverage["required"] == list(REQUIRED_TAGS)
    assert coverage["fully_tagged"] == coverage["taggable"] - len(data["untagged"])
    assert coverage["fully_tagged"] / coverage["taggable"] > 0.99
    for row in data["untagged"]:  # what is left: types whose tags CloudFormation cannot set here
        assert row["type"] == "AWS::RDS::DBProxyTargetGroup", row


def test_the_diagram_draws_every_stack_and_each_dependency(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment]
) -> None:
    svg = (reports / "prod" / "architecture.svg").read_text(encoding="utf-8")
    outdir = platform("prod").outdir
    for stack in read_stacks(outdir):
        assert stack.name in svg
    for region in ("ap-northeast-2", "us-east-1", "ap-northeast-3"):
        assert f">{region}<" in svg
    # Every arrow is a dependency the manifests declare, and every declared dependency has its arrow.
    manifest = json.loads((outdir / "assembly-Prod" / "manifest.json").read_text(encoding="utf-8"))
    stacks = {k: a for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    declared = {(a["properties"]["stackName"], stacks[d]["properties"]["stackName"])
                for a in stacks.values() for d in a.get("dependencies", []) if d in stacks}  # fmt: skip
    drawn = set(re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', svg))
    assert drawn == declared
    assert len(drawn) >= 9


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow  # a real headless browser, and make audit through make as the README runs it
def test_make_audit_writes_a_page_a_browser_renders_with_its_tables(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed on this machine (apt-get install chromium)")
    assembly = tmp_path / "cdk.out"
    copy_assembly(platform("dev").outdir, assembly)
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    made = subprocess.run(["make", "--no-print-directory", "audit", f"OUT={assembly}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    page = assembly / "audit" / "dev" / "report.html"
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, check=False, timeout=600)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    for table in ("packs", "stacks", "acknowledgments", "stateful", "encryption", "exposure", "iam_wildcards"):
        assert f'id="{table}"' in dom.stdout, table
    assert dom.stdout.count("<tr>") > 100
    assert "<svg" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1800",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, check=True, timeout=600)  # fmt: skip
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def bad_assembly(root: Path) -> Path:
    """A one-stack assembly holding what the report must call out."""
    anyone_reads = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                    "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]}}  # fmt: skip
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "Bucket"}, "PolicyDocument": {"Statement": [anyone_reads]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"},
                                                        "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::one"}]}}]}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]}}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"Protocol": "HTTP", "Port": 80}},
        "Nlb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Type": "network"}},
        "Cache": {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
            "AtRestEncryptionEnabled": True, "TransitEncryptionEnabled": True, "TransitEncryptionMode": "preferred"}},
        "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"PubliclyAccessible": True}},
        "Invoke": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Principal": "*", "Action": "lambda:InvokeFunction", "FunctionName": "f"}},
    }  # fmt: skip
    nested = root / "assembly-Bad"
    nested.mkdir(parents=True)
    (nested / "bad.template.json").write_text(json.dumps({"Resources": resources}))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://123456789012/eu-west-1",
        "displayName": "Bad/App",
        "properties": {"templateFile": "bad.template.json", "stackName": "bad-app"},
    }
    (nested / "manifest.json").write_text(json.dumps({"artifacts": {"BadApp": stack}}))
    top = {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Bad", "displayName": "Bad"}}
    (root / "manifest.json").write_text(json.dumps({"artifacts": {"assembly-Bad": top}}))
    return root


def test_what_is_wrong_in_a_template_is_called_out(tmp_path: Path) -> None:
    assembly = bad_assembly(tmp_path / "cdk.out")
    assert audit_main([str(assembly), "--out", str(tmp_path / "audit")]) == 0
    data = json.loads((tmp_path / "audit" / "bad" / "report.json").read_text())
    encryption = {r["logical_id"]: r for r in data["encryption"]}
    assert encryption["Db"]["at_rest"] == "NOT ENCRYPTED"
    assert encryption["Cache"]["at_rest"] == "KMS AWS-managed key"
    assert encryption["Cache"]["in_transit"] == "TLS preferred (plaintext allowed)"
    assert encryption["Listener"]["in_transit"] == "plaintext HTTP"
    assert encryption["Bucket"]["in_transit"] == "TLS not enforced"
    exposure = {r["logical_id"]: r["exposure"] for r in data["exposure"]}
    assert exposure["Db"] == "publicly accessible database"
    assert exposure["Invoke"] == "anyone may invoke the function"
    assert "no security group: open" in exposure["Nlb"]
    assert exposure["Bucket"] == "bucket without a full public access block"
    unexplained = {r["logical_id"] for r in data["iam_wildcards"] if r["acknowledged"] == "not acknowledged"}
    assert unexplained == {"BucketPolicy", "Role", "Key", "Invoke"}  # anyone, NotAction, anyone, anyone
    assert {r["deletion_policy"] for r in data["stateful"] if r["logical_id"] == "Db"} == {
        "Snapshot (CloudFormation's default)"
    }


def test_a_refused_synthesis_is_reported_with_its_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assembly = bad_assembly(tmp_path / "cdk.out")
    (assembly / "manifest.json").rename(assembly / "manifest.json.refused")
    violation = {"ruleName": "AwsSolutions-S1", "description": "no access logs",
                 "violatingConstructs": [{"constructPath": "Bad/App/Bucket"}]}  # fmt: skip
    (assembly / "validation-report.json").write_text(
        json.dumps({"pluginReports": [{"pluginName": "AwsSolutions", "violations": [violation]}]})
    )
    assert audit_main([str(assembly)]) == 1
    err = capsys.readouterr().err
    assert "refused by the compliance gate: 1 open finding(s)" in err
    assert "AwsSolutions-S1" in err
