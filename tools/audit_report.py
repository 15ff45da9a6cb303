"""`make audit`: what an auditor reads, per environment, without knowing the CDK.

    python -m tools.audit_report [cdk.out]     -> cdk.out/audit/<env>/report.md, report.html, report.json, *.csv

Built from a synthesised cloud assembly (`make synth` first) and nothing else:

- the compliance packs that ran and how many rules each applies (counted in the installed cdk-nag's
  pack sources), and the open findings (none, or each one);
- every acknowledgment: rule, construct path, logical ID, reason;
- every stateful resource with its deletion policy and protection;
- encryption at rest and in transit per resource that stores or carries data;
- public exposure: what the internet reaches, and through what;
- IAM statements (identity and resource policies) that allow a wildcard action or resource, with the
  acknowledgment that explains each;
- tag coverage of the taggable resources;
- an architecture diagram per environment (SVG, inside the HTML page).

The HTML page is self-contained (inline CSS and SVG, no script, no network); the JSON holds the same
data; each table is also a CSV.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import re
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from stacks.validation_report import read_findings
from tools.cloud_assembly import AssemblyStack, read_stacks
from tools.compliance_report import collect_acknowledgments
from tools.replacement_rules import is_stateful, resource_schema

REQUIRED_TAGS = ("Environment", "Project", "ManagedBy", "CostCenter", "Owner")
#: The packs stacks/compliance.py registers, and the source file of each in cdk-nag's package.
PACK_SOURCES = {
    "AwsSolutions": "aws-solutions.js",
    "NIST.800.53.R5": "nist-800-53-r5.js",
    "PCI.DSS.321": "pci-dss-321.js",
    "Serverless": "serverless.js",
}
TABLES = ("acknowledgments", "stateful", "encryption", "exposure", "iam_wildcards", "untagged")
#: Each table's columns, for the CSV header of a table with no rows.
COLUMNS = {
    "acknowledgments": ["stack", "path", "logical_id", "rule", "pack", "reason"],
    "stateful": ["stack", "logical_id", "type", "deletion_policy", "protection"],
    "encryption": ["stack", "logical_id", "type", "at_rest", "in_transit"],
    "exposure": ["stack", "logical_id", "type", "exposure"],
    "iam_wildcards": ["stack", "logical_id", "type", "principal", "actions", "resources", "acknowledged"],
    "untagged": ["stack", "logical_id", "type", "missing"],
}


@dataclass
class EnvironmentAudit:
    environment: str
    stacks: list[dict[str, Any]] = field(default_factory=list)
    packs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    acknowledgments: list[dict[str, Any]] = field(default_factory=list)
    stateful: list[dict[str, Any]] = field(default_factory=list)
    encryption: list[dict[str, Any]] = field(default_factory=list)
    exposure: list[dict[str, Any]] = field(default_factory=list)
    iam_wildcards: list[dict[str, Any]] = field(default_factory=list)
    untagged: list[dict[str, Any]] = field(default_factory=list)
    tag_coverage: dict[str, Any] = field(default_factory=dict)
    diagram_svg: str = ""


# --- helpers ----------------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A template value as text: strings as they are, references as <Ref> or <Att.Name>, joins joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(show(item) for item in value)
    if isinstance(value, dict):
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            attribute = value["Fn::GetAtt"]
            return f"<{'.'.join(attribute) if isinstance(attribute, list) else attribute}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(show(part) for part in parts)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return show(sub[0] if isinstance(sub, list) else sub)
        return json.dumps(value, sort_keys=True)
    return json.dumps(value)


def resources(stack: AssemblyStack) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in stack.template.get("Resources", {}).items()
            if isinstance(r, dict) and r.get("Type") != "AWS::CDK::Metadata"}  # fmt: skip


def props(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties", {}) or {})


def logical_ids_by_path(stack: AssemblyStack) -> dict[str, str]:
    return {path: str(entry["data"]) for path, entries in stack.metadata.items() for entry in entries
            if entry.get("type") == "aws:cdk:logicalId"}  # fmt: skip


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the sections -----------------------------------------------------------------------------------


def pack_rule_counts() -> list[dict[str, Any]]:
    """Each pack stacks/compliance.py registers, with the rules it applies (the `applyRule` calls in the
    installed cdk-nag's source of that pack), and aws-cdk-lib's own validation (cfn-lint's rules at synth)."""
    from stacks.compliance import COMPLIANCE_PACKS

    # The JavaScript source ships inside the installed distribution as its jsii assembly, a file it lists.
    files = metadata.files("cdk-nag") or []
    (archive,) = [Path(str(file.locate())) for file in files if file.name.endswith(".jsii.tgz")]
    counts = []
    with tarfile.open(archive) as bundle:
        for pack_class in COMPLIANCE_PACKS:
            name = str(pack_class().read_pack_name)
            source = PACK_SOURCES.get(name)
            member = bundle.extractfile(f"package/lib/packs/{source}") if source else None
            rules = member.read().decode().count("this.applyRule(") if member else "unknown"
            counts.append({"pack": name, "rules": rules, "source": archive.name.removesuffix(".jsii.tgz")})
    counts.append({"pack": "CloudFormation Validate", "rules": "cfn-lint's rules", "source": "aws-cdk-lib"})
    return counts


#: Types that hold data, whatever their deletion policy (the table shows what happens to each).
DATA_TYPES = frozenset({
    "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::KMS::Key",
    "AWS::SecretsManager::Secret", "AWS::Backup::BackupVault", "AWS::DynamoDB::Table", "AWS::EFS::FileSystem",
    "AWS::SQS::Queue", "AWS::ECR::Repository",
})  # fmt: skip


def deletion_policy(resource: Mapping[str, Any]) -> str:
    """The policy CloudFormation applies: the one written, else its default (Snapshot for RDS outside Aurora)."""
    written = resource.get("DeletionPolicy")
    if written:
        return str(written)
    kind = resource.get("Type")
    if kind == "AWS::RDS::DBCluster" or (
        kind == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in props(resource)
    ):
        return "Snapshot (CloudFormation's default)"
    return "Delete (CloudFormation's default)"


def stateful_rows(stack: AssemblyStack, termination_protected: bool) -> Iterator[dict[str, Any]]:
    for logical_id, resource in resources(stack).items():
        if resource["Type"] not in DATA_TYPES and not is_stateful(resource):
            continue
        properties = props(resource)
        protection = []
        if properties.get("DeletionProtection") is True or properties.get("DeletionProtectionEnabled") is True:
            protection.append("deletion protection")
        if "LockConfiguration" in properties:
            lock = properties["LockConfiguration"]
            protection.append(f"vault lock {lock.get('MinRetentionDays')}-{lock.get('MaxRetentionDays')} days")
        if termination_protected:
            protection.append("stack termination protection")
        yield {"stack": stack.name, "logical_id": logical_id, "type": resource["Type"],
               "deletion_policy": deletion_policy(resource), "protection": "; ".join(protection) or "none"}  # fmt: skip


def _policies_denying_plain_http(stack: AssemblyStack) -> set[str]:
    """Logical IDs of buckets, topics and queues whose resource policy denies requests without TLS."""
    covered: set[str] = set()
    for resource in resources(stack).values():
        if resource["Type"] not in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            continue
        properties = props(resource)
        text = json.dumps(properties.get("PolicyDocument", {}))
        if '"aws:SecureTransport": "false"' in text or "'aws:SecureTransport': 'false'" in text:
            targets = properties.get("Bucket") or properties.get("Topics") or properties.get("Queues")
            covered |= set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"', json.dumps(targets)))
    return covered


def encryption_rows(stack: AssemblyStack) -> Iterator[dict[str, Any]]:
    found = resources(stack)
    tls_only = _policies_denying_plain_http(stack)

    def force_ssl(instance: Mapping[str, Any]) -> str:
        group = props(instance).get("DBParameterGroupName")
        name = group.get("Ref") if isinstance(group, dict) else None
        parameters = props(found.get(str(name), {})).get("Parameters", {}) if name else {}
        return "TLS required (rds.force_ssl = 1)" if str(parameters.get("rds.force_ssl")) == "1" else "TLS optional"

    for logical_id, resource in found.items():
        kind, p = resource["Type"], props(resource)
        at_rest = in_transit = None
        if kind in ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
            if p.get("StorageEncrypted") is True:
                at_rest = f"KMS {show(p.get('KmsKeyId', 'aws/rds'))}"
            elif p.get("DBClusterIdentifier"):
                at_rest = "as its cluster"
            elif p.get("SourceDBInstanceIdentifier") or p.get("DBSnapshotIdentifier"):
                at_rest = "as its source (a replica, or the snapshot it is restored from)"
            else:
                at_rest = "NOT ENCRYPTED"
            group = p.get("DBParameterGroupName") or p.get("DBClusterParameterGroupName")
            if isinstance(group, dict) and "Ref" in group:
                in_transit = force_ssl(resource)
            elif group:
                in_transit = f"parameter group {show(group)} (not in this template)"
            elif p.get("SourceDBInstanceIdentifier") or p.get("DBClusterIdentifier"):
                in_transit = "as its source or cluster"
            else:
                in_transit = "engine default (rds.force_ssl is 1 from PostgreSQL 15)"
        elif kind == "AWS::RDS::DBProxy":
            at_rest, in_transit = "n/a (holds no data)", "TLS required" if p.get("RequireTLS") else "TLS optional"
        elif kind == "AWS::ElastiCache::ReplicationGroup":
            at_rest = (f"KMS {show(p.get('KmsKeyId', 'AWS-managed key'))}" if p.get("AtRestEncryptionEnabled")
                       else "NOT ENCRYPTED")  # fmt: skip
            if not p.get("TransitEncryptionEnabled"):
                in_transit = "NO TLS"
            elif p.get("TransitEncryptionMode") == "preferred":
                in_transit = "TLS preferred (plaintext allowed)"
            else:
                in_transit = "TLS required"
        elif kind == "AWS::S3::Bucket":
            rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", [])
            algorithms = [r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
            at_rest = ", ".join(str(a) for a in algorithms if a) or "S3 default (SSE-S3)"
            in_transit = "TLS only (bucket policy)" if logical_id in tls_only else "TLS not enforced"
        elif kind in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
            if p.get("KmsMasterKeyId"):
                at_rest = f"KMS {show(p['KmsMasterKeyId'])}"
            elif kind == "AWS::SQS::Queue" and p.get("SqsManagedSseEnabled") is not False:
                at_rest = "SQS-managed (SSE-SQS)"
            else:
                at_rest = "NOT ENCRYPTED"
            in_transit = "TLS only (resource policy)" if logical_id in tls_only else "TLS not enforced"
        elif kind == "AWS::Logs::LogGroup":
            at_rest = f"KMS {show(p['KmsKeyId'])}" if p.get("KmsKeyId") else "CloudWatch Logs default"
            in_transit = "HTTPS API"
        elif kind == "AWS::SecretsManager::Secret":
            at_rest = f"KMS {show(p['KmsKeyId'])}" if p.get("KmsKeyId") else "aws/secretsmanager"
            in_transit = "HTTPS API"
        elif kind == "AWS::Backup::BackupVault":
            at_rest, in_transit = f"KMS {show(p.get('EncryptionKeyArn', 'aws/backup'))}", "HTTPS API"
        elif kind == "AWS::ElasticLoadBalancingV2::Listener":
            at_rest = "n/a (carries traffic)"
            protocol = str(p.get("Protocol"))
            in_transit = (f"{protocol} {p.get('SslPolicy', '')}".strip() if protocol in ("HTTPS", "TLS")
                          else f"plaintext {protocol}")  # fmt: skip
        elif kind == "AWS::CloudFront::Distribution":
            config = p.get("DistributionConfig", {})
            behaviours = [config.get("DefaultCacheBehavior", {}), *config.get("CacheBehaviors", [])]
            viewers = sorted({str(b.get("ViewerProtocolPolicy")) for b in behaviours})
            origins = sorted({str((o.get("CustomOriginConfig") or {}).get("OriginProtocolPolicy", "S3 (HTTPS)"))
                              for o in config.get("Origins", [])})  # fmt: skip
            minimum = (config.get("ViewerCertificate") or {}).get("MinimumProtocolVersion", "CloudFront default")
            at_rest = "n/a (a cache)"
            in_transit = f"viewers: {', '.join(viewers)}, minimum {minimum}; to origins: {', '.join(origins)}"
            if "allow-all" in viewers or "http-only" in origins:
                in_transit = "PLAINTEXT ALLOWED: " + in_transit
        elif kind == "AWS::ECR::Repository":
            configuration = p.get("EncryptionConfiguration") or {}
            at_rest, in_transit = str(configuration.get("EncryptionType", "AES256")), "HTTPS API"
        if at_rest is not None:
            yield {"stack": stack.name, "logical_id": logical_id, "type": kind, "at_rest": at_rest,
                   "in_transit": in_transit}  # fmt: skip


def exposure_rows(stack: AssemblyStack) -> Iterator[dict[str, Any]]:
    found = resources(stack)
    for logical_id, resource in found.items():
        kind, p = resource["Type"], props(resource)
        what = None
        if (
            kind == "AWS::ElasticLoadBalancingV2::LoadBalancer"
            and p.get("Scheme", "internet-facing") == "internet-facing"
        ):
            groups = sorted({show(group) for group in _listed(p.get("SecurityGroups", []))})
            what = (
                "internet-facing load balancer; admitted by its security groups " + ", ".join(groups)
                if groups
                else "internet-facing load balancer with no security group: open on its listeners' ports"
            )
        elif kind == "AWS::CloudFront::Distribution":
            web_acl = p.get("DistributionConfig", {}).get("WebACLId")
            what = f"public CDN; WAF {show(web_acl) if web_acl else 'none'}"
        elif kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroup"):
            rules = [p] if kind == "AWS::EC2::SecurityGroupIngress" else list(p.get("SecurityGroupIngress", []))
            for rule in rules:
                source = rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourcePrefixListId")
                if source in ("0.0.0.0/0", "::/0") or rule.get("SourcePrefixListId"):
                    ports = f"{rule.get('FromPort')}-{rule.get('ToPort')}/{rule.get('IpProtocol')}"
                    yield {"stack": stack.name, "logical_id": logical_id, "type": kind,
                           "exposure": f"ingress {ports} from {show(source)}"}  # fmt: skip
        elif kind == "AWS::S3::Bucket":
            block = p.get("PublicAccessBlockConfiguration") or {}
            keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
            if not all(block.get(key) is True for key in keys):
                what = "bucket without a full public access block"
        elif kind == "AWS::RDS::DBInstance" and p.get("PubliclyAccessible") is True:
            what = "publicly accessible database"
        elif kind == "AWS::Lambda::Url":
            what = f"function URL, auth {p.get('AuthType')}"
        elif kind == "AWS::Lambda::Permission" and show(p.get("Principal")) == "*":
            what = "anyone may invoke the function"
        elif kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
            what = "API (public unless its endpoint is private)"
        elif kind == "AWS::EC2::Instance" and any(
            n.get("AssociatePublicIpAddress") for n in p.get("NetworkInterfaces", []) or []
        ):
            what = "instance with a public IP address"
        if what:
            yield {"stack": stack.name, "logical_id": logical_id, "type": kind, "exposure": what}


_POLICY_PLACES = {
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::Backup::BackupVault": ("AccessPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
    "AWS::ECR::Repository": ("RepositoryPolicyText",),
    "AWS::Logs::ResourcePolicy": ("PolicyDocument",),
}


def _documents(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    p = props(resource)
    documents = [p.get(key) for key in _POLICY_PLACES.get(resource["Type"], ())]
    if resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        documents += [policy.get("PolicyDocument") for policy in p.get("Policies", []) or []]
    parsed = []
    for document in documents:
        if isinstance(document, str):  # some resource policies are JSON text
            try:
                document = json.loads(document)
            except ValueError:
                continue
        if isinstance(document, dict):
            parsed.append(document)
    return parsed


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and any("*" in _listed(value) for value in principal.values())


def wildcard_rows(stack: AssemblyStack, reasons: Mapping[tuple[str, str], list[str]]) -> Iterator[dict[str, Any]]:
    """Allow statements with a wildcard action or resource, NotAction or NotResource, or anyone as the
    principal, with the IAM5 acknowledgments on their resource; and Lambda permissions for anyone."""
    for logical_id, resource in resources(stack).items():
        p = props(resource)
        if resource["Type"] == "AWS::Lambda::Permission" and show(p.get("Principal")) == "*":
            yield {"stack": stack.name, "logical_id": logical_id, "type": resource["Type"], "principal": "*",
                   "actions": show(p.get("Action")), "resources": show(p.get("FunctionName")),
                   "acknowledged": "not acknowledged"}  # fmt: skip
        for document in _documents(resource):
            for statement in _listed(document.get("Statement", [])):
                if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                    continue
                actions = [show(a) for a in _listed(statement.get("Action", []))]
                targets = [show(r) for r in _listed(statement.get("Resource", []))]
                negated = [f"{key} {show(statement[key])}" for key in ("NotAction", "NotResource") if key in statement]
                anyone = _anyone(statement.get("Principal"))
                if not (negated or anyone or any("*" in text for text in actions + targets)):
                    continue
                explained = " | ".join(reasons.get((stack.name, logical_id), []))
                if not (explained or negated or anyone):
                    if resource["Type"] == "AWS::KMS::Key":
                        explained = "a key policy: its '*' resource is the key itself"
                    elif all(t.startswith("<") for t in targets) and not any("*" in a for a in actions):
                        explained = "paths inside one resource of this template (e.g. the objects of one bucket)"
                yield {"stack": stack.name, "logical_id": logical_id, "type": resource["Type"],
                       "principal": show(statement.get("Principal", "(the role's)")),
                       "actions": " ".join([*actions, *negated]), "resources": " ".join(targets),
                       "acknowledged": explained or "not acknowledged"}  # fmt: skip


def tag_property(kind: str, region: str) -> str | None:
    """The property `kind` takes its tags in (CloudFormation's schema, cfn-lint's copy); None if untaggable."""
    schema = resource_schema(kind, region)
    tagging = schema.get("tagging") or {}
    if not tagging.get("taggable"):
        return None
    name = str(tagging.get("tagProperty", "/properties/Tags")).removeprefix("/properties/")
    return name if name in schema.get("properties", {}) else None


def _tag_keys(tags: Any) -> set[str]:
    if isinstance(tags, dict):
        return set(tags)
    return {str(tag.get("Key")) for tag in tags or [] if isinstance(tag, dict)}


# --- building and writing -----------------------------------------------------------------------------


def audit(outdir: Path) -> list[EnvironmentAudit]:
    stacks = read_stacks(outdir)
    findings = [str(finding) for finding in read_findings(outdir)]
    packs = pack_rule_counts()
    acknowledgments = collect_acknowledgments(outdir)
    audits = []
    for environment in sorted({s.environment for s in stacks}):
        mine = [s for s in stacks if s.environment == environment]
        result = EnvironmentAudit(environment, packs=packs, findings=findings)
        reasons: dict[tuple[str, str], list[str]] = {}
        for stack in mine:
            paths = logical_ids_by_path(stack)
            result.stacks.append({"name": stack.name, "account": stack.account, "region": stack.region,
                                  "resources": len(resources(stack))})  # fmt: skip
            for ack in acknowledgments:
                if ack.environment.lower() != environment or ack.stack != stack.display_name:
                    continue
                logical_id = paths.get(ack.path) or paths.get(f"{ack.path}/Resource") or _inside(paths, ack.path)
                result.acknowledgments.append({"stack": stack.name, "path": ack.path, "logical_id": logical_id,
                                               "rule": ack.rule, "pack": ack.pack, "reason": ack.reason})  # fmt: skip
                if "IAM5" in ack.rule:
                    reasons.setdefault((stack.name, logical_id), []).append(f"{ack.rule}: {ack.reason}")
            result.stateful += stateful_rows(stack, stack.termination_protection)
            result.encryption += encryption_rows(stack)
            result.exposure += exposure_rows(stack)
            result.iam_wildcards += wildcard_rows(stack, reasons)
            for logical_id, resource in resources(stack).items():
                tags_in = tag_property(resource["Type"], stack.region)
                if tags_in is None:
                    continue
                missing = [key for key in REQUIRED_TAGS if key not in _tag_keys(props(resource).get(tags_in))]
                result.tag_coverage["taggable"] = result.tag_coverage.get("taggable", 0) + 1
                if missing:
                    result.untagged.append({"stack": stack.name, "logical_id": logical_id, "type": resource["Type"],
                                            "missing": ", ".join(missing)})  # fmt: skip
        taggable_count = result.tag_coverage.get("taggable", 0)
        result.tag_coverage = {"required": list(REQUIRED_TAGS), "taggable": taggable_count,
                               "fully_tagged": taggable_count - len(result.untagged)}  # fmt: skip
        result.diagram_svg = diagram(mine, {stack.name: stack.dependencies for stack in mine})
        audits.append(result)
    return audits


def _inside(paths: Mapping[str, str], construct: str) -> str:
    """The resource(s) a higher-level construct holds, for an acknowledgment placed on the construct."""
    inside = sorted(lid for path, lid in paths.items() if path.startswith(construct + "/"))
    if len(inside) <= 3:
        return " ".join(inside) or "(no resource)"
    return f"{' '.join(inside[:3])} and {len(inside) - 3} more"


KEY_TYPES = ("AWS::EC2::VPC", "AWS::EC2::NatGateway", "AWS::RDS::DBInstance", "AWS::RDS::DBProxy",
             "AWS::ElastiCache::ReplicationGroup", "AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer",
             "AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL", "AWS::S3::Bucket", "AWS::Backup::BackupVault",
             "AWS::StepFunctions::StateMachine", "AWS::Lambda::Function", "AWS::SNS::Topic", "AWS::CloudWatch::Alarm",
             "AWS::ECR::Repository", "AWS::KMS::Key")  # fmt: skip


def diagram(stacks: Sequence[AssemblyStack], dependencies: Mapping[str, Sequence[str]]) -> str:
    """An SVG: a column per region, a box per stack listing its main resources, an arrow per dependency."""
    regions = sorted({s.region for s in stacks}, key=lambda r: (-sum(1 for s in stacks if s.region == r), r))
    width, box_width, line = 300, 260, 15
    boxes: dict[str, tuple[float, float, float]] = {}
    parts = []
    heights = []
    for column, region in enumerate(regions):
        x = 20 + column * width
        y = 50.0
        parts.append(f'<text x="{x}" y="30" class="region">{html.escape(region)}</text>')
        for stack in [s for s in stacks if s.region == region]:
            counts = Counter(r["Type"] for r in resources(stack).values())
            lines = [f"{counts[k]} x {k.split('::', 1)[1]}" for k in KEY_TYPES if counts.get(k)]
            height = 30 + line * max(len(lines), 1)
            parts.append(f'<rect x="{x}" y="{y}" width="{box_width}" height="{height}" rx="6" class="stack"/>')
            parts.append(f'<text x="{x + 8}" y="{y + 18}" class="name">{html.escape(stack.name)}</text>')
            for index, text in enumerate(lines):
                parts.append(f'<text x="{x + 12}" y="{y + 34 + index * line}">{html.escape(text)}</text>')
            boxes[stack.name] = (x, y, height)
            y += height + 24
        heights.append(y)
    edge = 0
    for name, needs in sorted(dependencies.items()):
        if name not in boxes:
            continue
        x1, y1, h1 = boxes[name]
        for need in needs:
            if need not in boxes:
                continue
            x2, y2, h2 = boxes[need]
            edge += 1
            # From the dependent's right side to the dependency's, bowing out by a distance of its own, so
            # that no two arrows share a line and none crosses a box.
            start, end = (x1 + box_width, y1 + h1 / 2), (x2 + box_width, y2 + h2 / 2)
            bow = x1 + box_width + 12 + 5 * edge if x1 == x2 else (start[0] + end[0]) / 2
            parts.append(f'<path d="M {start[0]} {start[1]} C {bow} {start[1]}, {bow} {end[1]}, {end[0]} {end[1]}" '
                         f'class="dependency" data-from="{html.escape(name)}" data-to="{html.escape(need)}" '
                         'marker-end="url(#arrow)"/>')  # fmt: skip
    legend_y = max(heights, default=100) + 10
    parts.append(f'<text x="20" y="{legend_y}">An arrow goes from a stack to a stack it depends on '
                 "(deployed first).</text>")  # fmt: skip
    heights.append(legend_y + 10)
    total_width = 40 + width * len(regions) + 5 * edge
    total_height = max(heights, default=100) + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{total_height}" '
        f'viewBox="0 0 {total_width} {total_height}" role="img" aria-label="architecture">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>'
        "<style>text{font:12px sans-serif}.region{font-weight:bold;font-size:14px}.name{font-weight:bold}"
        ".stack{fill:#eef3fb;stroke:#3a6ea5}.dependency{stroke:#888;stroke-width:1;fill:none}</style>"
        + "".join(parts)
        + "</svg>"
    )


def to_markdown(result: EnvironmentAudit) -> str:
    out = [f"# Audit report: {result.environment}", ""]
    out += ["## Compliance packs", "", "| Pack | Rules it applies |", "|---|---|"]
    out += [f"| {p['pack']} | {p['rules']} ({p['source']}) |" for p in result.packs]
    out += ["", f"Open findings: {len(result.findings)}", *(f"- {f}" for f in result.findings), ""]
    out += ["## Stacks", "", "| Stack | Account | Region | Resources |", "|---|---|---|---|"]
    out += [f"| {s['name']} | {s['account']} | {s['region']} | {s['resources']} |" for s in result.stacks]
    coverage = result.tag_coverage
    out += ["", "## Tag coverage", "",
            f"{coverage['fully_tagged']} of {coverage['taggable']} taggable resources carry every required tag "
            f"({', '.join(coverage['required'])}).", ""]  # fmt: skip
    for table in TABLES:
        rows = getattr(result, table)
        out += [f"## {table.replace('_', ' ').capitalize()} ({len(rows)})", ""]
        if rows:
            headers = list(rows[0])
            out += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            out += ["| " + " | ".join(str(r[h]).replace("|", "\\|").replace("\n", " ") for h in headers) + " |"
                    for r in rows]  # fmt: skip
        else:
            out.append("None.")
        out.append("")
    out += [
        "## Architecture",
        "",
        "![architecture: a column per region, a box per stack, an arrow from a stack to "
        "each stack it depends on](architecture.svg)",
        "",
    ]
    return "\n".join(out)


def to_html(result: EnvironmentAudit) -> str:
    def table(name: str, rows: list[dict[str, Any]]) -> str:
        if not rows:
            return f'<p id="{name}">None.</p>'
        headers = list(rows[0])
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[h]))}</td>" for h in headers) + "</tr>" for r in rows)
        return f'<table id="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    coverage = result.tag_coverage
    sections = [
        "<h2>Compliance packs</h2>",
        table("packs", result.packs),
        f"<p>Open findings: <strong id='open-findings'>{len(result.findings)}</strong></p>",
        "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in result.findings) + "</ul>",
        "<h2>Architecture</h2>",
        f'<figure id="diagram">{result.diagram_svg}</figure>',
        "<h2>Stacks</h2>",
        table("stacks", result.stacks),
        "<h2>Tag coverage</h2>",
        f"<p>{coverage['fully_tagged']} of {coverage['taggable']} taggable resources carry every required tag "
        f"({html.escape(', '.join(coverage['required']))}).</p>",
    ]
    for name in TABLES:
        rows = getattr(result, name)
        sections += [f"<h2>{html.escape(name.replace('_', ' ').capitalize())} ({len(rows)})</h2>", table(name, rows)]
    style = ("body{font:14px sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
             "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
             "th{background:#f3f3f3}")  # fmt: skip
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Audit report: "
            f"{html.escape(result.environment)}</title><style>{style}</style></head><body>"
            f"<h1>Audit report: {html.escape(result.environment)}</h1>{''.join(sections)}</body></html>")  # fmt: skip


def write(result: EnvironmentAudit, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.md").write_text(to_markdown(result), encoding="utf-8")
    (directory / "report.html").write_text(to_html(result), encoding="utf-8")
    data = asdict(result)
    data.pop("diagram_svg")
    (directory / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (directory / "architecture.svg").write_text(result.diagram_svg, encoding="utf-8")
    for name in (*TABLES, "packs", "stacks"):
        rows = getattr(result, name)
        with (directory / f"{name.replace('_', '-')}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else COLUMNS.get(name, ["none"]))
            writer.writeheader()
            writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("assembly", nargs="?", type=Path, default=Path("cdk.out"))
    parser.add_argument("--out", type=Path, help="where to write (default <assembly>/audit)")
    args = parser.parse_args(argv)
    refused = list(args.assembly.glob("**/manifest.json.refused"))
    if refused:
        findings = read_findings(args.assembly)
        print(f"audit: the synthesis in {args.assembly} was refused by the compliance gate: {len(findings)} open "
              "finding(s), nothing may be deployed:", file=sys.stderr)  # fmt: skip
        for finding in findings:
            print(f"  - {finding}", file=sys.stderr)
        return 1
    try:
        results = audit(args.assembly)
    except Exception as error:  # a missing or unreadable assembly: said, not a traceback
        print(f"audit: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    for result in results:
        directory = (args.out or args.assembly / "audit") / result.environment
        write(result, directory)
        print(f"audit: {directory}/report.html (.md, .json, .csv): {len(result.acknowledgments)} acknowledgments, "
              f"{len(result.findings)} open findings, {len(result.stateful)} stateful resources")  # fmt: skip
    return 1 if any(result.findings for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
