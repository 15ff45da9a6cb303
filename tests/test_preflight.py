"""`make preflight`: every check's pass, fail and manual outcome, and the run without credentials.

The input is a real synthesised environment (the session's dev assembly; a variant with images for
the Fargate capacity). AWS is moto where moto implements the API; where it does not (Lambda's account
settings, RDS's account quotas, Service Quotas beyond VPC's defaults, or a stack listing with given
physical ids) the client is a botocore Stubber that also checks each request's parameters.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import pytest
from botocore.credentials import CredentialResolver  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from config import CONFIG_DIR, EnvironmentConfig
from config.loader import validate_environment
from config.schema import ServicesConfig
from platform_constructs.physical_names import repository_name, service_secret_name
from stacks.compliance import synthesize
from stacks.platform_app import build_app, feature_flags, new_app
from stacks.platform_stage import PlatformStage
from tests.conftest import SynthesizedEnvironment
from tools.preflight import demand
from tools.preflight.aws import CredentialsError, DeployedStacks
from tools.preflight.bootstrap import check_bootstrap
from tools.preflight.deployment import Deployment, read_deployment
from tools.preflight.headroom import amount
from tools.preflight.images import check_images, check_secrets
from tools.preflight.manual import check_cloudfront_enabled
from tools.preflight.permissions import FIX_ACTIONS, READ_ACTIONS, UNAUTHORISED_CALLS
from tools.preflight.prerequisites import check_certificates, check_ecs_role, check_hosted_zone
from tools.preflight.quotas import (
    CACHE_NODES,
    CLOUDFRONT_WEB_ACLS,
    DISTRIBUTIONS,
    FARGATE_ON_DEMAND,
    FARGATE_SPOT,
    LAMBDA_UNRESERVED_MINIMUM,
    QuotaChecks,
    ServiceQuota,
)
from tools.preflight.report import Check, Outcome, exit_status
from tools.preflight.run import main, run_checks

pytestmark = pytest.mark.slow

EDGE = "us-east-1"


# --- a fake account: moto, and Stubber where moto lacks the API ---------------------------------


@dataclass
class Account:
    stubbers: dict[tuple[str, str], Stubber] = field(default_factory=dict)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    without_credentials: set[str] = field(default_factory=set)
    #: Whether every stubbed answer must have been asked for (not when a run stops part-way on purpose).
    verify: bool = True
    #: Every call made, as an IAM action (`service:Operation`).
    calls: list[str] = field(default_factory=list)

    def client(self, service: str, region: str) -> Any:
        if service in self.without_credentials:
            return _client_without_credentials(service, region)
        if (service, region) not in self.clients:
            client = boto3.client(service, region_name=region)
            prefix = client.meta.service_model.signing_name

            def record(model: Any, **_: Any) -> None:
                self.calls.append(f"{prefix}:{model.name}")

            client.meta.events.register("before-call", record)
            self.clients[(service, region)] = client
        return self.clients[(service, region)]

    def stub(self, service: str, region: str) -> Stubber:
        """The Stubber of (service, region): every call to that client must then be stubbed, in order."""
        if (service, region) not in self.stubbers:
            stubber = Stubber(self.client(service, region))
            stubber.activate()
            self.stubbers[(service, region)] = stubber
        return self.stubbers[(service, region)]

    def quota(self, region: str, quota: ServiceQuota, value: float) -> None:
        """Service Quotas answers the applied `value` of `quota` in `region`."""
        stubber = self.stub("service-quotas", region)
        if quota.code is None:
            # A near miss first (every word but the last, as the regional WAF quota is to the CloudFront one):
            # taking it would give a wrong value.
            near = f"Maximum {' '.join(quota.name_words[:-1])} per account for regional"
            name = f"Maximum {' '.join(quota.name_words)} per account"
            stubber.add_response(
                "list_service_quotas",
                {"Quotas": [{"QuotaName": near, "Value": value + 7}, {"QuotaName": name, "Value": value}]},
                {"ServiceCode": quota.service},
            )
        else:
            stubber.add_response(
                "get_service_quota",
                {"Quota": {"QuotaCode": quota.code, "Value": value}},
                {"ServiceCode": quota.service, "QuotaCode": quota.code},
            )


def _client_without_credentials(service: str, region: str) -> Any:
    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    return boto3.Session(botocore_session=session).client(service, region_name=region)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, dev: SynthesizedEnvironment) -> Iterator[Account]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MOTO_ACCOUNT_ID": dev.config.account,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        fake = Account()
        yield fake
        if fake.verify:
            for stubber in fake.stubbers.values():
                stubber.assert_no_pending_responses()


@pytest.fixture(scope="module")
def dev(platform: Callable[[str], SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return platform("dev")


@pytest.fixture
def deployment(dev: SynthesizedEnvironment) -> Deployment:
    return read_deployment(dev.config, dev.outdir)


def quotas(deployment: Deployment, account: Account) -> QuotaChecks:
    return QuotaChecks(deployment, account.client, DeployedStacks(account.client))


def outcomes(checks: list[Check]) -> list[Outcome]:
    return [check.outcome for check in checks]


def one(check: Check | None, outcome: Outcome, *words: str) -> Check:
    assert check is not None
    assert check.outcome is outcome, check.line()
    for word in words:
        assert word in check.line(), (word, check.line())
    if outcome is Outcome.FAIL:
        assert check.remedy, "a failure says what to do"
    return check


def with_stacks_deployed(
    account: Account, deployment: Deployment, region: str, owned: dict[str, list[tuple[str, str]]]
) -> None:
    """The region's stacks as CloudFormation lists them: those in `owned` deployed with those
    (resource type, physical id) pairs, every other absent. Stubbed in the order the checks read them."""
    stubber = account.stub("cloudformation", region)
    for stack in deployment.stacks_in(region):
        if stack.name not in owned:
            stubber.add_client_error(
                "describe_stacks",
                "ValidationError",
                f"Stack with id {stack.name} does not exist",
                expected_params={"StackName": stack.name},
            )
            continue
        stubber.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": stack.name, "StackStatus": "UPDATE_COMPLETE", "CreationTime": _NOW}]},
            {"StackName": stack.name},
        )
        summaries = [
            {
                "LogicalResourceId": f"R{index}",
                "PhysicalResourceId": physical,
                "ResourceType": kind,
                "ResourceStatus": "CREATE_COMPLETE",
                "LastUpdatedTimestamp": _NOW,
            }
            for index, (kind, physical) in enumerate(owned[stack.name])
        ]
        stubber.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": stack.name})


_NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)


def with_reservation(deployment: Deployment, reserved: int) -> Deployment:
    """The deployment whose one reservation is `reserved` on the data stack's first function (whatever the
    environment's config reserves: that is configurable and changes)."""
    stacks = []
    placed = False
    for stack in deployment.stacks:
        template = json.loads(json.dumps(stack.template))
        for resource in template["Resources"].values():
            if resource["Type"] == demand.LAMBDA_FUNCTION:
                resource["Properties"].pop("ReservedConcurrentExecutions", None)
                if stack.name.endswith("-data") and not placed and reserved:
                    resource["Properties"]["ReservedConcurrentExecutions"] = reserved
                    placed = True
        stacks.append(dataclasses.replace(stack, template=template))
    assert placed or not reserved
    changed = dataclasses.replace(deployment, stacks=tuple(stacks), account_stacks=tuple(stacks))
    assert demand.reserved_concurrency(changed.stacks).total == reserved
    return changed


# --- identity and bootstrap ---------------------------------------------------------------------


def bootstrap(account: Account, deployment: Deployment, *, version: int | None = None) -> None:
    for requirement in deployment.bootstrap:
        account.client("ssm", requirement.region).put_parameter(
            Name=requirement.parameter, Value=str(version or requirement.version), Type="String"
        )


def test_bootstrap_at_the_required_version_in_every_region_passes(account: Account, deployment: Deployment) -> None:
    bootstrap(account, deployment, version=30)
    checks = check_bootstrap(deployment, account.client)
    assert {c.where.split("/")[1] for c in checks} == set(deployment.regions)
    assert outcomes(checks) == [Outcome.PASS] * len(checks)


def test_a_region_not_bootstrapped_or_too_old_fails_naming_the_command(
    account: Account, deployment: Deployment
) -> None:
    main_region, *others = deployment.regions
    old = next(r for r in deployment.bootstrap if r.region == main_region)
    account.client("ssm", main_region).put_parameter(Name=old.parameter, Value=str(old.version - 1), Type="String")
    checks = {c.where.split("/")[1]: c for c in check_bootstrap(deployment, account.client)}
    one(checks[main_region], Outcome.FAIL, f"requires {old.version}", "upgrades")
    for region in others:
        one(checks[region], Outcome.FAIL, "not bootstrapped", f"cdk bootstrap aws://{deployment.account}/{region}")


def test_credentials_of_another_account_stop_the_run(
    account: Account, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    echoed: list[str] = []
    checks = run_checks(deployment, account.client, echo=echoed.append)
    assert len(checks) == 1
    one(checks[0], Outcome.FAIL, "999999999999", deployment.account)
    assert echoed == [checks[0].line()]


# --- quotas --------------------------------------------------------------------------------------


def stub_lambda(account: Account, region: str, *, total: int, unreserved: int, own: dict[str, int]) -> None:
    stubber = account.stub("lambda", region)
    stubber.add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}},
    )
    for name, reserved in own.items():
        stubber.add_response(
            "get_function_concurrency", {"ReservedConcurrentExecutions": reserved}, {"FunctionName": name}
        )


def test_lambda_reservations_that_leave_100_unreserved_pass(account: Account, deployment: Deployment) -> None:
    region = deployment.config.region
    deployment = with_reservation(deployment, 5)
    requested = demand.reserved_concurrency(deployment.stacks_in(region)).total
    stub_lambda(account, region, total=1000, unreserved=1000, own={})
    one(quotas(deployment, account).lambda_concurrency(region), Outcome.PASS, f"reserve {requested:g}")


def test_lambda_reservations_in_a_new_accounts_quota_fail(account: Account, deployment: Deployment) -> None:
    """A new account's quota of 10: nothing can be reserved (Lambda keeps 100 unreserved)."""
    region = deployment.config.region
    deployment = with_reservation(deployment, 5)
    requested = demand.reserved_concurrency(deployment.stacks_in(region)).total
    stub_lambda(account, region, total=10, unreserved=10, own={})
    check = one(quotas(deployment, account).lambda_concurrency(region), Outcome.FAIL, "only 0 is left")
    assert f"short by {LAMBDA_UNRESERVED_MINIMUM - 10 + requested:g}" in check.remedy
    stub_lambda(account, region, total=10, unreserved=10, own={})  # without reservations, the same account passes
    one(quotas(with_reservation(deployment, 0), account).lambda_concurrency(region), Outcome.PASS)
    assert f"at least {LAMBDA_UNRESERVED_MINIMUM + requested:g}" in check.remedy


def test_lambda_reservations_the_environment_holds_count_once(account: Account, deployment: Deployment) -> None:
    """After the deploy the account's reservations are the environment's own: the same run passes."""
    region = deployment.config.region
    deployment = with_reservation(deployment, 5)
    requested = int(demand.reserved_concurrency(deployment.stacks_in(region)).total)
    data = next(s for s in deployment.stacks if s.name.endswith("-data"))
    with_stacks_deployed(account, deployment, region, {data.name: [(demand.LAMBDA_FUNCTION, "ticketing-dev-fn")]})
    stub_lambda(
        account,
        region,
        total=LAMBDA_UNRESERVED_MINIMUM + requested,
        unreserved=LAMBDA_UNRESERVED_MINIMUM,
        own={"ticketing-dev-fn": requested},
    )
    one(quotas(deployment, account).lambda_concurrency(region), Outcome.PASS, "adds 0")


def test_elastic_ips_for_the_nat_gateways(account: Account, deployment: Deployment) -> None:
    """moto's account allows 5; the NAT gateways need one each."""
    region = deployment.config.region
    nat = demand.count(deployment.stacks_in(region), "AWS::EC2::NatGateway").total
    one(quotas(deployment, account).elastic_ips(region), Outcome.PASS, f"for {nat:g} NAT gateway")
    ec2 = account.client("ec2", region)
    for _ in range(5):
        ec2.allocate_address(Domain="vpc")
    one(quotas(deployment, account).elastic_ips(region), Outcome.FAIL, "5 of 5 in use", "Elastic IPs")


def test_elastic_ips_the_network_stack_holds_count_once(account: Account, deployment: Deployment) -> None:
    """The network stack deployed (moto's CloudFormation makes its address): the quota is full, and
    the run still passes, because the address is the environment's own."""
    region = deployment.config.region
    network = next(s for s in deployment.stacks if s.name.endswith("-network"))
    eips = {"E0": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}}}
    account.client("cloudformation", region).create_stack(
        StackName=network.name, TemplateBody=json.dumps({"Resources": eips})
    )
    ec2 = account.client("ec2", region)
    for _ in range(4):
        ec2.allocate_address(Domain="vpc")
    one(quotas(deployment, account).elastic_ips(region), Outcome.PASS, "5 of 5 in use, 1 of it already dev's")


def test_rds_instances(account: Account, deployment: Deployment) -> None:
    """The templates' instances and a place for the restore drill's temporary one (dev has a drill): a
    quota that holds exactly the templates' instances fails for want of that place."""
    region = deployment.config.region
    stacks = deployment.stacks_in(region)
    in_templates = int(demand.count(stacks, "AWS::RDS::DBInstance").total)
    assert demand.restore_drills(stacks).total == 1
    requested = in_templates + 1
    stubber = account.stub("rds", region)
    for used, most in ((0, 40), (1, requested), (0, requested), (0, in_templates)):
        stubber.add_response(
            "describe_account_attributes",
            {"AccountQuotas": [{"AccountQuotaName": "DBInstances", "Used": used, "Max": most}]},
        )
    one(
        quotas(deployment, account).rds_instances(region),
        Outcome.PASS,
        f"{requested} instances ({in_templates} primary and replicas, 1 for the restore drill's temporary instance)",
    )
    one(quotas(deployment, account).rds_instances(region), Outcome.FAIL, f"1 of {requested} in use")
    one(quotas(deployment, account).rds_instances(region), Outcome.PASS, f"{requested} instances")
    one(quotas(deployment, account).rds_instances(region), Outcome.FAIL, f"0 of {in_templates} in use")


def test_cache_nodes_by_code_then_by_name(account: Account, deployment: Deployment) -> None:
    region = deployment.config.region
    account.quota(region, CACHE_NODES, 300)
    one(quotas(deployment, account).cache_nodes(region), Outcome.PASS, "0 of 300 in use")
    account.quota(region, CACHE_NODES, 1)
    one(quotas(deployment, account).cache_nodes(region), Outcome.FAIL, "only 1 is left")
    # A code Service Quotas does not know: found by its name; neither: a manual step with the link.
    stubber = account.stub("service-quotas", region)
    for found in (True, False):
        stubber.add_client_error(
            "get_service_quota",
            "NoSuchResourceException",
            expected_params={"ServiceCode": "elasticache", "QuotaCode": CACHE_NODES.code},
        )
        stubber.add_response(
            "list_service_quotas",
            {"Quotas": [{"QuotaName": "Nodes per Region", "Value": 300.0}] if found else []},
            {"ServiceCode": "elasticache"},
        )
    checks = QuotaChecks(deployment, account.client, DeployedStacks(account.client))
    one(checks._guarded(checks.cache_nodes, region), Outcome.PASS)
    requested = amount(demand.cache_nodes(deployment.stacks_in(region)).total)
    one(
        checks._guarded(checks.cache_nodes, region),
        Outcome.MANUAL,
        "Service Quotas has no applied value of elasticache L-DFE45DF3 (Nodes per Region)",
        f"the templates ask for {requested} nodes",
        CACHE_NODES.link(region),
        CACHE_NODES.docs,
    )


def test_cloudfront_web_acls_by_name_never_the_regional_quota(account: Account, deployment: Deployment) -> None:
    """The CloudFront-scope web ACL quota has no verified code: it is found by name in us-east-1, past the
    regional quota; without it the line is manual, with the console link and AWS's WAF quotas page."""
    account.client("wafv2", EDGE).create_web_acl(
        Name="other",
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"},
    )
    regional = {
        "QuotaName": "Maximum web ACLs per account in WAF for regional",
        "QuotaCode": "L-2EC3DE7B",
        "Value": 100.0,
    }
    cloudfront = {"QuotaName": "Maximum web ACLs per account in WAF for CloudFront", "Value": 1.0}
    stubber = account.stub("service-quotas", EDGE)
    for listed in ([regional, cloudfront], [regional]):
        stubber.add_response("list_service_quotas", {"Quotas": listed}, {"ServiceCode": "wafv2"})
    checks = quotas(deployment, account)
    one(checks._guarded(checks.cloudfront_web_acls, EDGE), Outcome.FAIL, "1 of 1 in use", "request more web ACLs")
    one(
        checks._guarded(checks.cloudfront_web_acls, EDGE),
        Outcome.MANUAL,
        "no applied value of wafv2 quota (web ACLs per account, CloudFront scope)",
        "'web acls' and 'cloudfront'",
        "the templates ask for 1 web ACL(s)",
        "https://console.aws.amazon.com/servicequotas/home/services/wafv2/quotas?region=us-east-1",
        "https://docs.aws.amazon.com/waf/latest/developerguide/limits.html",
    )


def test_vpcs_from_service_quotas_applied_value(account: Account, deployment: Deployment) -> None:
    """moto answers VPC's GetServiceQuota (5) and has a default VPC."""
    region = deployment.config.region
    one(quotas(deployment, account).vpcs(region), Outcome.PASS, "1 of 5 in use")
    ec2 = account.client("ec2", region)
    for index in range(4):
        ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16")
    one(quotas(deployment, account).vpcs(region), Outcome.FAIL, "5 of 5 in use", "request more VPCs")


def test_load_balancers_and_target_groups(account: Account, deployment: Deployment) -> None:
    region = deployment.config.region
    checks = quotas(deployment, account)
    one(checks.load_balancers(region), Outcome.PASS, "0 of 20 in use")  # moto's limits
    one(checks.target_groups(region), Outcome.PASS, "0 of 3000 in use")
    stubber = account.stub("elbv2", region)
    other = "arn:aws:elasticloadbalancing:ap-northeast-2:111111111111:loadbalancer/app/other/1"
    stubber.add_response("describe_account_limits", {"Limits": [{"Name": "application-load-balancers", "Max": "1"}]})
    stubber.add_response(
        "describe_load_balancers", {"LoadBalancers": [{"LoadBalancerArn": other, "Type": "application"}]}
    )
    one(checks.load_balancers(region), Outcome.FAIL, "1 of 1 in use", "load balancers")
    stubber.add_response("describe_account_limits", {"Limits": [{"Name": "target-groups", "Max": "0"}]})
    stubber.add_response("describe_target_groups", {"TargetGroups": []})
    one(checks.target_groups(region), Outcome.FAIL, "0 of 0 in use", "target groups")


def test_cloudfront_web_acls_and_distributions(account: Account, deployment: Deployment) -> None:
    account.client("wafv2", EDGE).create_web_acl(
        Name="other",
        Scope="CLOUDFRONT",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "m"},
    )
    account.quota(EDGE, CLOUDFRONT_WEB_ACLS, 100)
    account.quota(EDGE, DISTRIBUTIONS, 200)
    account.quota(EDGE, CLOUDFRONT_WEB_ACLS, 1)
    account.quota(EDGE, DISTRIBUTIONS, 0)
    checks = quotas(deployment, account)
    one(checks.cloudfront_web_acls(EDGE), Outcome.PASS, "1 of 100 in use")
    one(checks.distributions(EDGE), Outcome.PASS, "0 of 200 in use")
    one(checks.cloudfront_web_acls(EDGE), Outcome.FAIL, "1 of 1 in use")
    one(checks.distributions(EDGE), Outcome.FAIL, "0 of 0 in use")


def test_log_resource_policies_are_counted_by_name(account: Account, deployment: Deployment) -> None:
    """10 per account and region, not adjustable: a policy the account already has under the same name
    (the environment's own, or the account-wide log delivery one) is no increase."""
    region = deployment.config.region
    names, _ = demand.log_resource_policies(deployment.stacks_in(region))
    logs = account.client("logs", region)
    one(quotas(deployment, account).log_resource_policies(region), Outcome.PASS, f"adds {len(names)}")
    for index in range(10 - len(names)):
        logs.put_resource_policy(policyName=f"other-{index}", policyDocument="{}")
    for name in names:
        logs.put_resource_policy(policyName=name, policyDocument="{}")
    one(quotas(deployment, account).log_resource_policies(region), Outcome.PASS, "10 of 10 in use", "adds 0")
    logs.delete_resource_policy(policyName=sorted(names)[0])
    logs.put_resource_policy(policyName="yet-another", policyDocument="{}")
    one(quotas(deployment, account).log_resource_policies(region), Outcome.FAIL, "not adjustable")


def test_environments_sharing_the_account_are_summed(
    account: Account, deployment: Deployment, platform: Callable[[str], SynthesizedEnvironment]
) -> None:
    """Staging moved into dev's account: the Elastic IPs of both count, what dev alone would pass."""
    staging = read_deployment(platform("staging").config, platform("staging").outdir)
    moved = tuple(dataclasses.replace(s, account=deployment.account, region=s.region) for s in staging.stacks)
    shared = dataclasses.replace(deployment, account_stacks=deployment.account_stacks + moved)
    region = deployment.config.region
    both = demand.count(shared.stacks_in(region), "AWS::EC2::EIP").total
    assert both > demand.count(deployment.stacks_in(region), "AWS::EC2::EIP").total
    ec2 = account.client("ec2", region)
    for _ in range(int(5 - both + 1)):
        ec2.allocate_address(Domain="vpc")
    one(quotas(deployment, account).elastic_ips(region), Outcome.PASS)
    one(quotas(shared, account).elastic_ips(region), Outcome.FAIL, "(dev, staging)")
    missing = dataclasses.replace(deployment, missing_sharers=("staging",))
    one(quotas(missing, account).sharing(), Outcome.FAIL, "staging", "make preflight ENV=dev")
    assert quotas(deployment, account).sharing() is None


# --- Fargate, on a variant whose services have images --------------------------------------------


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedEnvironment:
    """dev with an image for every service (so each has its scaling), synthesised once."""
    data = tomllib.loads((CONFIG_DIR / "dev.toml").read_text(encoding="utf-8"))
    services = tomllib.loads((CONFIG_DIR / "services.toml").read_text(encoding="utf-8"))["services"]
    data["images"] = {name: "1.0.0" for name in services}
    checked = ServicesConfig.model_validate({"services": services}).services
    config = validate_environment(data, source="dev.toml", expected_name="dev", services=checked)
    outdir = tmp_path_factory.mktemp("cdk-dev-running")
    app = build_app([config], new_app(outdir=str(outdir), context=feature_flags()))
    synthesize(app)
    stage = next(c for c in app.node.children if isinstance(c, PlatformStage))
    return SynthesizedEnvironment(config=config, stage=stage, outdir=outdir)


def test_fargate_vcpu_at_max_tasks_against_both_quotas(account: Account, running: SynthesizedEnvironment) -> None:
    deployment = read_deployment(running.config, running.outdir)
    region = running.config.region
    on_demand, spot = demand.fargate_vcpu(deployment.stacks_in(region))
    compute = running.config.compute
    sizes = [running.config.services[s].cpu / 1024 for s in running.config.services]
    assert on_demand.total + spot.total >= compute.max_tasks * sum(sizes)  # every task counted
    assert spot.total > 0
    assert on_demand.total > 0
    account.quota(region, FARGATE_ON_DEMAND, 1000)
    account.quota(region, FARGATE_SPOT, 1000)
    account.quota(region, FARGATE_ON_DEMAND, on_demand.total - 0.25)
    account.quota(region, FARGATE_SPOT, spot.total - 0.25)
    checks = quotas(deployment, account)
    one(checks.fargate_on_demand(region), Outcome.PASS, f"{on_demand.total:g} vCPU")
    one(checks.fargate_spot(region), Outcome.PASS, f"{spot.total:g} vCPU")
    one(checks.fargate_on_demand(region), Outcome.FAIL, "short by 0.25", "max_tasks")
    one(checks.fargate_spot(region), Outcome.FAIL, "short by 0.25")


def test_fargate_tasks_the_environment_runs_count_once(account: Account, running: SynthesizedEnvironment) -> None:
    """After the deploy the environment's own tasks fill the quota exactly: the same run passes; another
    cluster's tasks are the account's and leave less room."""
    deployment = read_deployment(running.config, running.outdir)
    region = running.config.region
    on_demand, spot = demand.fargate_vcpu(deployment.stacks_in(region))
    services = next(s for s in deployment.stacks if s.name.endswith("-services"))
    with_stacks_deployed(account, deployment, region, {services.name: [("AWS::ECS::Cluster", "ticketing-dev")]})
    own, other = (f"arn:aws:ecs:{region}:{deployment.account}:cluster/{name}" for name in ("ticketing-dev", "other"))
    ecs = account.stub("ecs", region)
    ecs.add_response("list_clusters", {"clusterArns": [own, other]}, {})
    tasks = {  # (cluster, provider, vCPU of each task, how many)
        own: [("FARGATE", 0.25, int(on_demand.total / 0.25)), ("FARGATE_SPOT", 0.25, int(spot.total / 0.25))],
        other: [("FARGATE", 0.5, 1)],
    }
    for cluster, kinds in tasks.items():
        arns = [f"{cluster}/task-{provider}-{i}" for provider, _, count in kinds for i in range(count)]
        ecs.add_response("list_tasks", {"taskArns": arns}, {"cluster": cluster, "desiredStatus": "RUNNING"})
        described = [
            {
                "taskArn": f"{cluster}/task-{provider}-{i}",
                "cpu": str(int(vcpu * 1024)),
                "capacityProviderName": provider,
            }
            for provider, vcpu, count in kinds
            for i in range(count)
        ]
        for start in range(0, len(arns), 100):
            ecs.add_response(
                "describe_tasks",
                {"tasks": described[start : start + 100]},
                {"cluster": cluster, "tasks": arns[start : start + 100]},
            )
    account.quota(region, FARGATE_ON_DEMAND, on_demand.total + 0.5)
    account.quota(region, FARGATE_SPOT, spot.total)
    checks = quotas(deployment, account)
    one(checks.fargate_on_demand(region), Outcome.PASS, "adds 0", f"{on_demand.total + 0.5:g} of")
    one(checks.fargate_spot(region), Outcome.PASS, "adds 0", f"{spot.total:g} of {spot.total:g} in use")


# --- what the templates refer to -----------------------------------------------------------------


def test_ecs_service_linked_role(account: Account, deployment: Deployment) -> None:
    one(check_ecs_role(deployment, account.client, fix=False)[0], Outcome.FAIL, "does not exist", "FIX=1")
    account.calls.clear()
    one(check_ecs_role(deployment, account.client, fix=True)[0], Outcome.PASS, "created")
    assert "iam:CreateServiceLinkedRole" in account.calls
    assert set(account.calls) <= set(READ_ACTIONS) | set(FIX_ACTIONS)
    one(check_ecs_role(deployment, account.client, fix=False)[0], Outcome.PASS, "exists")


def certificate(account: Account, region: str, *names: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    arn: str = account.client("acm", region).import_certificate(
        Certificate=cert.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )["CertificateArn"]
    return arn


def with_config(deployment: Deployment, **sections: dict[str, Any]) -> Deployment:
    config = deployment.config
    updates = {name: getattr(config, name).model_copy(update=values) for name, values in sections.items()}
    return dataclasses.replace(deployment, config=config.model_copy(update=updates))


def test_certificates_issued_covering_their_names_in_the_region_that_uses_them(
    account: Account, deployment: Deployment
) -> None:
    region, origin = deployment.config.region, deployment.config.load_balancer.origin_domain_name
    wildcard = "*." + origin.split(".", 1)[1]
    ready = with_config(
        deployment,
        load_balancer={"certificate_arn": certificate(account, region, wildcard)},
        edge={
            "domain_names": ("tickets.example.com",),
            "certificate_arn": certificate(account, EDGE, "tickets.example.com"),
        },
    )
    checks = check_certificates(ready, account.client)
    assert [c.name for c in checks] == ["ACM certificate (load balancer)", "ACM certificate (CloudFront)"]
    one(checks[0], Outcome.PASS, origin, region)
    one(checks[1], Outcome.PASS, "tickets.example.com", EDGE)


@pytest.mark.parametrize("problem", ["absent", "elsewhere", "other names", "pending"])
def test_a_certificate_that_cannot_serve_fails(account: Account, deployment: Deployment, problem: str) -> None:
    region, origin = deployment.config.region, deployment.config.load_balancer.origin_domain_name
    arn, expected = {
        "absent": (deployment.config.load_balancer.certificate_arn, "does not exist"),
        "elsewhere": (certificate(account, EDGE, origin), f"uses certificates from {region} only"),
        "other names": (certificate(account, region, "www.example.com"), f"not {origin}"),
        "pending": (
            account.client("acm", region).request_certificate(DomainName=origin, ValidationMethod="DNS")[
                "CertificateArn"
            ],
            "PENDING_VALIDATION",
        ),
    }[problem]
    (check,) = check_certificates(with_config(deployment, load_balancer={"certificate_arn": arn}), account.client)
    one(check, Outcome.FAIL, expected)


def test_a_certificate_the_credentials_may_not_read_is_not_called_missing(
    account: Account, deployment: Deployment
) -> None:
    """AccessDenied on ACM propagates to the family's could-not-check line: "request it" would be the wrong
    remedy for a certificate that exists."""
    acm = boto3.client("acm", region_name=deployment.config.region, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(acm)
    stubber.add_client_error("describe_certificate", "AccessDeniedException", "not allowed")
    stubber.activate()
    only_lb = with_config(deployment, edge={"domain_names": (), "certificate_arn": None})
    with pytest.raises(ClientError, match="AccessDeniedException"):
        check_certificates(
            only_lb, lambda service, region: acm if service == "acm" else account.client(service, region)
        )


def test_hosted_zone(account: Account, deployment: Deployment) -> None:
    route53 = account.client("route53", deployment.config.region)
    name = deployment.config.load_balancer.hosted_zone_name

    def zone(zone_name: str, *, private: bool = False) -> str:
        extra: dict[str, Any] = {}
        if private:
            vpc = account.client("ec2", deployment.config.region).create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            extra = {
                "VPC": {"VPCRegion": deployment.config.region, "VPCId": vpc},
                "HostedZoneConfig": {"PrivateZone": True},
            }
        created = route53.create_hosted_zone(Name=zone_name, CallerReference=zone_name + str(private), **extra)
        return str(created["HostedZone"]["Id"]).rsplit("/", 1)[1]

    for zone_id, outcome, words in (
        (zone(name), Outcome.PASS, ("public zone", name)),
        ("Z0NOSUCHZONE", Outcome.FAIL, ("no hosted zone",)),
        (zone("other.example.com"), Outcome.FAIL, ("the zone is other.example.com",)),
        (zone(name, private=True), Outcome.FAIL, ("private zone",)),
    ):
        (check,) = check_hosted_zone(with_config(deployment, load_balancer={"hosted_zone_id": zone_id}), account.client)
        one(check, outcome, *words)


# --- secrets and images --------------------------------------------------------------------------


def with_images(deployment: Deployment, images: dict[str, str], secrets: dict[str, dict[str, str]]) -> Deployment:
    config = deployment.config
    services = {
        name: service.model_copy(update={"secrets": secrets.get(name, service.secrets)})
        for name, service in config.services.items()
    }
    changed: EnvironmentConfig = config.model_copy(update={"images": images, "services": services})
    return dataclasses.replace(deployment, config=changed)


def test_secrets_are_checked_once_a_service_names_an_image(account: Account, deployment: Deployment) -> None:
    region = deployment.config.region
    secrets = {"auth": {"JWT_KEY": "jwt:private", "SIGNING": "signing"}, "events": {"API_KEY": "partner"}}
    ready = with_images(deployment, {"auth": "1.0.0"}, secrets)  # events has no image: not checked
    client = account.client("secretsmanager", region)
    jwt, signing = (service_secret_name("dev", "auth", name) for name in ("jwt", "signing"))
    client.create_secret(Name=jwt, SecretString="{}")
    client.create_secret(Name=signing, SecretString="x")
    client.delete_secret(SecretId=signing, RecoveryWindowInDays=7)
    checks = {c.name: c for c in check_secrets(ready, account.client)}
    assert set(checks) == {"secret of auth (JWT_KEY)", "secret of auth (SIGNING)"}
    one(checks["secret of auth (JWT_KEY)"], Outcome.PASS, f"{jwt} exists")
    one(checks["secret of auth (SIGNING)"], Outcome.FAIL, "scheduled for deletion", "restore-secret")
    client.delete_secret(SecretId=jwt, ForceDeleteWithoutRecovery=True)
    (absent, _) = check_secrets(ready, account.client)
    one(absent, Outcome.FAIL, "does not exist", f"create-secret --region ap-northeast-2 --name {jwt}")


def test_image_tags_in_their_repositories(account: Account, deployment: Deployment) -> None:
    region, registry = deployment.config.region, deployment.account
    ecr = account.client("ecr", region)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "digest": "sha256:" + "a" * 64,
                "size": 1,
                "mediaType": "application/vnd.docker.container.image.v1+json",
            },
            "layers": [],
        }
    )
    events, auth = repository_name("dev", "events"), repository_name("dev", "auth")
    for repository in (events, auth, "shared/inventory"):
        ecr.create_repository(repositoryName=repository)
    ecr.put_image(repositoryName=events, imageManifest=manifest, imageTag="1.0.0")
    ecr.put_image(repositoryName="shared/inventory", imageManifest=manifest, imageTag="3.2.1")
    images = {
        "events": "1.0.0",  # there
        "auth": "2.0.0",  # its repository exists, the tag does not
        "inventory": f"{registry}.dkr.ecr.{region}.amazonaws.com/shared/inventory:3.2.1",  # a full ECR reference
        "bookings": "1.0.0",  # the registry stack creates ticketing/dev/bookings: not there yet
        "api-gateway": "public.ecr.aws/nginx/nginx:1.27",  # outside private ECR: cannot be checked
    }
    checks = {c.name: c for c in check_images(with_images(deployment, images, {}), account.client)}
    one(checks["image of events"], Outcome.PASS, f"{events}:1.0.0 exists")
    one(checks["image of auth"], Outcome.FAIL, f"2.0.0 is not in {auth}", "push it")
    one(checks["image of inventory"], Outcome.PASS, "shared/inventory:3.2.1 exists")
    one(checks["image of bookings"], Outcome.MANUAL, "created by this deployment", "Dev/Registry")
    one(checks["image of api-gateway"], Outcome.MANUAL, "docker manifest inspect")
    elsewhere = {"events": f"{registry}.dkr.ecr.{region}.amazonaws.com/nobody/events:1"}
    (missing,) = check_images(with_images(deployment, elsewhere, {}), account.client)
    one(missing, Outcome.FAIL, "no repository nobody/events")


def test_cloudfront_enabled_is_a_manual_step_until_the_account_has_a_distribution(
    account: Account, deployment: Deployment
) -> None:
    (check,) = check_cloudfront_enabled(deployment, account.client)
    one(check, Outcome.MANUAL, "no distribution yet", "https://docs.aws.amazon.com/", "support")
    account.client("cloudfront", EDGE).create_distribution(
        DistributionConfig={
            "CallerReference": "other",
            "Comment": "",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "example.com",
                                                   "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                          "OriginProtocolPolicy": "https-only"}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        }
    )  # fmt: skip
    (check,) = check_cloudfront_enabled(deployment, account.client)
    one(check, Outcome.PASS, "already has a distribution")


# --- the whole run -------------------------------------------------------------------------------


def ready_account(account: Account, deployment: Deployment) -> Deployment:
    """An account with everything the deploy needs; the deployment's config names its resources."""
    region = deployment.config.region
    bootstrap(account, deployment)
    account.client("iam", region).create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
    origin = deployment.config.load_balancer.origin_domain_name
    zone = account.client("route53", region).create_hosted_zone(
        Name=deployment.config.load_balancer.hosted_zone_name, CallerReference="ready"
    )
    ready = with_config(
        deployment,
        load_balancer={
            "certificate_arn": certificate(account, region, origin),
            "hosted_zone_id": str(zone["HostedZone"]["Id"]).rsplit("/", 1)[1],
        },
    )
    stub_lambda(account, region, total=1000, unreserved=1000, own={})
    account.stub("rds", region).add_response(
        "describe_account_attributes", {"AccountQuotas": [{"AccountQuotaName": "DBInstances", "Used": 0, "Max": 40}]}
    )
    account.quota(region, CACHE_NODES, 300)
    account.quota(region, ServiceQuota("vpc", "L-F678F1CE", ()), 5)
    account.quota(EDGE, CLOUDFRONT_WEB_ACLS, 100)
    account.quota(EDGE, DISTRIBUTIONS, 200)
    return ready


def test_a_ready_account_passes_with_one_line_per_check(account: Account, deployment: Deployment) -> None:
    ready = ready_account(account, deployment)
    echoed: list[str] = []
    checks = run_checks(ready, account.client, echo=echoed.append)
    assert echoed == [check.line() for check in checks]
    assert exit_status(checks) == 0, "\n".join(echoed)
    names = {check.name for check in checks}
    for expected in (
        "credentials", "CDK bootstrap", "quota: Lambda reserved concurrency", "quota: Elastic IPs",
        "quota: RDS DB instances", "quota: ElastiCache nodes", "quota: VPCs", "quota: Application Load Balancers",
        "quota: target groups", "quota: WAF web ACLs for CloudFront", "quota: CloudFront distributions",
        "quota: CloudWatch Logs resource policies", "ECS service-linked role", "ACM certificate (load balancer)",
        "Route 53 hosted zone", "CloudFront enabled for the account",
    ):  # fmt: skip
        assert expected in names, expected
    assert [c.outcome for c in checks if c.outcome is not Outcome.PASS] == [Outcome.MANUAL]  # CloudFront enabled


def test_a_run_calls_only_the_documented_read_actions(account: Account, deployment: Deployment) -> None:
    ready = ready_account(account, deployment)
    account.calls.clear()  # what preparing the account called
    run_checks(ready, account.client, echo=lambda line: None)
    called = set(account.calls)
    assert called <= set(READ_ACTIONS) | set(UNAUTHORISED_CALLS), called - set(READ_ACTIONS)
    assert len(called) >= len(READ_ACTIONS) // 2  # the run reached most of them (the rest: deployed stacks, images)


def test_an_empty_account_fails_with_what_to_do(
    account: Account, dev: SynthesizedEnvironment, deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the command line: the committed dev config in an empty account; exit 1."""
    region = deployment.config.region
    stub_lambda(account, region, total=10, unreserved=10, own={})
    account.stub("rds", region).add_response(
        "describe_account_attributes", {"AccountQuotas": [{"AccountQuotaName": "DBInstances", "Used": 0, "Max": 40}]}
    )
    account.quota(region, CACHE_NODES, 300)
    account.quota(region, ServiceQuota("vpc", "L-F678F1CE", ()), 5)
    account.quota(EDGE, CLOUDFRONT_WEB_ACLS, 100)
    account.quota(EDGE, DISTRIBUTIONS, 200)
    assert main(["--env", "dev", "--assembly", str(dev.outdir)], clients=account.client) == 1
    out = capsys.readouterr().out
    for words in (
        "fail    CDK bootstrap", "not bootstrapped", "fail    ECS service-linked role", "does not exist",
        "fail    Route 53 hosted zone", "fail    ACM certificate (load balancer)", "manual  CloudFront enabled",
        "preflight dev:",
    ):  # fmt: skip
        assert words in out, words
    reserved = demand.reserved_concurrency(deployment.stacks_in(region)).total
    assert ("fail    quota: Lambda reserved concurrency" in out) == (reserved > 0)


def test_no_credentials_on_the_command_line_is_one_line_and_exit_2(
    account: Account, dev: SynthesizedEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    account.without_credentials.add("sts")
    assert main(["--env", "dev", "--assembly", str(dev.outdir)], clients=account.client) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("preflight: no AWS credentials found")


@pytest.mark.parametrize(
    "service", ["sts", "ssm", "cloudformation", "lambda", "ec2", "iam", "acm", "route53", "cloudfront"]
)
def test_no_credentials_for_any_check_stops_the_run_with_one_line(
    account: Account, deployment: Deployment, service: str
) -> None:
    """Whichever check first finds the credentials missing, the run stops there with one line."""
    ready = ready_account(account, deployment)
    account.verify = False  # the run stops part-way: the answers after that point are not asked for
    account.without_credentials.add(service)
    with pytest.raises(CredentialsError, match=r"^no AWS credentials found") as raised:
        run_checks(ready, account.client, echo=lambda line: None)
    assert "\n" not in str(raised.value)  # one line
