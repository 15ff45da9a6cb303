"""`make audit` (tools/audit_report.py), checked against the synthesised templates it reports on: counts
agree, every acknowledgment appears in every format, nothing is unencrypted, exposed or unexplained in
the committed environments; and the HTML page opened in a real headless browser."""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment
from tools.audit_report import REQUIRED_TAGS, main as audit_main
from tools.cloud_assembly import read_stacks
from tools.compliance_report import collect_acknowledgments
from tools.replacement_rules import is_stateful

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
    for row in data["acknowledgments"]:
        assert not row["logical_id"].startswith("("), row  # every acknowledgment names its resource
        assert row["rule"] in markdown
        assert row["logical_id"].split()[0] in markdown
        assert html.escape(row["rule"]) in page
    assert {(r["path"], r["rule"]) for r in listed} == {(a.path, a.rule) for a in expected}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_the_report_counts_what_the_templates_hold(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment], name: str
) -> None:
    stacks = read_stacks(platform(name).outdir)
    data = report(reports, name)
    assert data["findings"] == []
    assert [p["pack"] for p in data["packs"]] == ["AwsSolutions", "NIST.800.53.R5", "PCI.DSS.321", "Serverless"]
    assert all(p["rules"] > 10 for p in data["packs"])
    assert {s["name"] for s in data["stacks"]} == {s.name for s in stacks}
    stateful = [(s.name, k) for s in stacks for k, r in s.template["Resources"].items() if is_stateful(r)]
    assert sorted((r["stack"], r["logical_id"]) for r in data["stateful"]) == sorted(stateful)
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


def test_the_diagram_draws_every_stack_and_region(
    reports: Path, platform: Callable[[str], SynthesizedEnvironment]
) -> None:
    svg = (reports / "prod" / "architecture.svg").read_text(encoding="utf-8")
    for stack in read_stacks(platform("prod").outdir):
        assert stack.name in svg
    for region in ("ap-northeast-2", "us-east-1", "ap-northeast-3"):
        assert f">{region}<" in svg
    assert svg.count("<line ") >= 9  # every stack depends on another, except the network and the vaults


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
    shutil.copytree(platform("dev").outdir, assembly)
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    made = subprocess.run(["make", "--no-print-directory", "audit", f"OUT={assembly}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    page = assembly / "audit" / "dev" / "report.html"
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    for table in ("packs", "stacks", "acknowledgments", "stateful", "encryption", "exposure", "iam_wildcards"):
        assert f'id="{table}"' in dom.stdout, table
    assert dom.stdout.count("<tr>") > 100
    assert "<svg" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1800",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, check=True, timeout=120)  # fmt: skip
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
