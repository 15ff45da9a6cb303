"""Bad services-tier config is refused with the service, the key and what is allowed.

Two tables: environment files ([compute], [load_balancer], [images]) and services.toml (the shape
of each service). Then properties of the pieces the rules rest on: ALB path-pattern overlap (checked
against brute force), the capacity mix and the night schedule.
"""

from __future__ import annotations

import copy
import itertools
import re
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from config import CONFIG_DIR, ConfigError
from config.compute import NightScalingConfig, Sizing
from config.loader import validate_environment, validate_services
from config.path_patterns import matches, overlap, pattern_problem
from platform_constructs.fargate_service import FARGATE, FARGATE_SPOT, CapacityMix
from platform_constructs.fargate_sizes import FARGATE_TASK_SIZES, size_problem
from stacks.night_scaling import night_schedules
from tests.test_config_validation import DELETE, with_change

# (id, base file, dotted key, new value, message the error must contain)
INVALID_ENVIRONMENT = [
    ("spot-above-100", "dev", "compute.spot_percent", 101, "compute.spot_percent = 101: must be 0 to 100 %"),
    ("spot-negative", "dev", "compute.spot_percent", -1, "compute.spot_percent = -1: must be 0 to 100 %"),
    ("base-above-max", "staging", "compute.on_demand_base", 7, "compute.on_demand_base = 7: above max_tasks = 6 of api-gateway; the base must fit within the service's maximum"),
    ("min-above-max", "dev", "compute.min_tasks", 5, "compute.min_tasks = 5: must not exceed max_tasks (4)"),
    ("prod-without-on-demand-base", "prod", "compute.on_demand_base", 0, "compute.on_demand_base = 0: prod keeps at least 1 task per service on on-demand FARGATE, so a Spot reclaim never takes a service to zero"),
    ("prod-with-night-scaling", "prod", "compute.night_scaling", {}, "compute.night_scaling = {table}: prod never stops at night; remove the table"),
    ("prod-rolls-below-full-strength", "prod", "compute.deployment", {"minimum_healthy_percent": 50}, "compute.deployment.minimum_healthy_percent = 50: prod keeps 100% of its tasks healthy"),
    ("prod-single-task", "prod", "compute.min_tasks", 1, "compute.min_tasks = 1: prod runs at least 2 tasks of api-gateway, in two zones"),
    ("deployment-cannot-roll", "dev", "compute.deployment", {"minimum_healthy_percent": 100, "maximum_percent": 100}, "compute.deployment.maximum_percent = 100: with minimum_healthy_percent = 100 ECS can neither stop an old task nor start a new one"),
    ("cpu-target-zero", "dev", "compute.scaling", {"cpu_target_percent": 0}, "compute.scaling.cpu_target_percent = 0: must be 10 to 95 %"),
    ("cooldown-beyond-an-hour", "dev", "compute.scaling", {"scale_in_cooldown_seconds": 3601}, "compute.scaling.scale_in_cooldown_seconds = 3601: must be 0 to 3600 seconds"),
    ("night-stop-equals-start", "dev", "compute.night_scaling", {"stop_at": "09:00", "start_at": "09:00"}, "compute.night_scaling.start_at = '09:00': must differ from stop_at"),
    ("night-time-not-a-clock", "dev", "compute.night_scaling", {"stop_at": "8pm"}, "compute.night_scaling.stop_at = '8pm': must be a 24-hour time HH:MM"),
    ("night-unknown-zone", "dev", "compute.night_scaling", {"time_zone": "Asia/Seul"}, "compute.night_scaling.time_zone = 'Asia/Seul': not an IANA time zone such as Asia/Seoul or UTC; did you mean 'Asia/Seoul'?"),
    ("night-weekends-typo", "dev", "compute.night_scaling", {"weekends": "off"}, "compute.night_scaling.weekends = 'off': must be one of 'stopped', 'running'"),
    ("size-override-not-offered", "dev", "compute.services", {"events": {"cpu": 256, "memory_mib": 4096}}, "compute.services.events.memory_mib = 4096: Fargate does not offer 4096 MiB (4 GiB) with cpu 256; valid pairs (cpu: memory MiB): 256: 512, 1024, 2048; 512: 1024 to 4096 in steps of 1024"),
    ("override-of-unknown-service", "dev", "compute.services", {"payments": {"min_tasks": 1}}, "compute.services.payments = {table}: no such service in services.toml (api-gateway, events, auth, inventory, bookings)"),
    ("override-min-above-max", "dev", "compute.services", {"bookings": {"min_tasks": 3, "max_tasks": 2}}, "compute.services.bookings.min_tasks = 3: must not exceed max_tasks (2)"),
    ("image-of-unknown-service", "dev", "images", {"payment": "1.0.0"}, "images.payment = '1.0.0': no such service in services.toml"),
    ("image-latest", "dev", "images", {"events": "latest"}, "images.events = 'latest': latest is a moving tag and the service repositories keep tags immutable"),
    ("image-reference-latest", "dev", "images", {"events": "public.ecr.aws/x/events:latest"}, "images.events = 'public.ecr.aws/x/events:latest': latest is a moving tag"),
    ("image-tag-with-space", "dev", "images", {"events": "1.0 beta"}, "images.events = '1.0 beta': an image tag is 1 to 128 of A-Z a-z 0-9 _ . -"),
    ("certificate-other-region", "dev", "load_balancer.certificate_arn", "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000", "load_balancer.certificate_arn = 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-00000...: the certificate is in us-east-1 / 111111111111; the ALB needs one in its own region and account (ap-northeast-2 / 111111111111)"),
    ("certificate-not-an-arn", "dev", "load_balancer.certificate_arn", "my-cert", "load_balancer.certificate_arn = 'my-cert': must be an ACM certificate ARN"),
    ("origin-outside-zone", "dev", "load_balancer.origin_domain_name", "origin.example.org", "load_balancer.origin_domain_name = 'origin.example.org': must be a name inside hosted_zone_name (dev.tickets.example.com)"),
    ("origin-upper-case", "dev", "load_balancer.origin_domain_name", "Origin.dev.tickets.example.com", "load_balancer.origin_domain_name = 'Origin.dev.tickets.example.com': a lower-case DNS name"),
    ("zone-id-malformed", "dev", "load_balancer.hosted_zone_id", "zone-1", "load_balancer.hosted_zone_id = 'zone-1': must be a Route 53 hosted zone id"),
    ("prefix-list-malformed", "dev", "load_balancer.cloudfront_prefix_list_id", "cloudfront", "load_balancer.cloudfront_prefix_list_id = 'cloudfront': must be a prefix list id such as pl-22a6434b; find yours with: aws ec2 describe-managed-prefix-lists"),
    ("health-timeout-not-below-interval", "dev", "load_balancer.health_check", {"interval_seconds": 10, "timeout_seconds": 10}, "load_balancer.health_check.timeout_seconds = 10: must be less than interval_seconds (10)"),
    ("health-path-relative", "dev", "load_balancer.health_check_path", "health", "load_balancer.health_check_path = 'health': a path starting with /"),
    ("access-logs-out-of-order", "dev", "load_balancer.access_logs", {"glacier_after_days": 400}, "load_balancer.access_logs.expire_after_days = 365: need infrequent_access_after_days (30) < glacier_after_days (400) < expire_after_days (365)"),
    ("access-logs-ia-too-early", "dev", "load_balancer.access_logs", {"infrequent_access_after_days": 7}, "S3 moves objects to STANDARD_IA 30 days after creation at the earliest"),
    ("missing-compute", "dev", "compute", DELETE, "compute: required key is missing"),
    ("missing-certificate", "dev", "load_balancer.certificate_arn", DELETE, "load_balancer.certificate_arn: required key is missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [case[1:] for case in INVALID_ENVIRONMENT],
    ids=[case[0] for case in INVALID_ENVIRONMENT],
)
def test_bad_compute_and_load_balancer_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    problems = "\n".join(caught.value.problems)
    assert message in problems


def test_a_region_without_a_known_prefix_list_needs_one_in_config() -> None:
    data = with_change("dev", "region", "ap-southeast-3")
    data["availability_zones"] = ["ap-southeast-3a", "ap-southeast-3b"]
    data["load_balancer"]["certificate_arn"] = data["load_balancer"]["certificate_arn"].replace(
        "ap-northeast-2", "ap-southeast-3"
    )
    data["database"]["instance_class"] = data["database"]["replica_instance_class"] = "db.r7g.large"
    data["cache"]["node_type"] = "cache.r7g.large"
    with pytest.raises(ConfigError, match=r"load_balancer.cloudfront_prefix_list_id = None: .* has no id for "
                       r"ap-southeast-3: set it; find it with: aws ec2 describe-managed-prefix-lists"):  # fmt: skip
        validate_environment(data, source="dev.toml", expected_name="dev")
    data["load_balancer"]["cloudfront_prefix_list_id"] = "pl-0123abcd"
    assert (
        validate_environment(data, source="dev.toml", expected_name="dev").load_balancer.prefix_list_id(
            "ap-southeast-3"
        )
        == "pl-0123abcd"
    )


def shared() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((CONFIG_DIR / "services.toml").read_text(encoding="utf-8"))
    return data


def services_with(service: str, **values: Any) -> dict[str, Any]:
    data = copy.deepcopy(shared())
    data["services"].setdefault(service, {}).update(values)
    return data


# (id, service, changed keys, message the error must contain)
INVALID_SERVICES = [
    ("invalid-service-name", "Payments", {"port": 8005}, "services.Payments = {table}: a service name is 1 to 20 lower-case letters"),
    ("health-path-without-slash", "api-gateway", {"health_check_path": "health"}, "services.api-gateway.health_check_path = 'health': a path starting with /, without wildcards"),
    ("path-without-slash", "events", {"paths": ["api/events"]}, "services.events.paths = ['api/events']: 'api/events': a path pattern starts with / (e.g. /api/*)"),
    ("path-with-space", "events", {"paths": ["/api/my events"]}, "allowed characters: A-Z a-z 0-9"),
    ("duplicate-path", "events", {"paths": ["/api/events", "/api/events"]}, "services.events.paths[1] = '/api/events': is listed twice"),
    ("two-services-on-one-path", "events", {"paths": ["/api/*"]}, "services.events.paths[0] = '/api/*': is also api-gateway's: two services on one path"),
    ("overlapping-paths", "bookings", {"paths": ["/api/bookings/*"]}, "services.bookings.paths[0] = '/api/bookings/*': overlaps '/api/*' of api-gateway: some path matches both, so the listener rule order would pick the service"),
    ("overlap-by-wildcard-in-the-middle", "events", {"paths": ["/api/x/*/list", "/api/x/a*"]}, "services.events.paths[1] = '/api/x/a*': overlaps '/api/x/*/list' of the same service"),
    ("path-outside-api", "events", {"paths": ["/v1/events"]}, "services.events.paths = ['/v1/events']: '/v1/events': CloudFront sends only /api and /api/* to the load balancer (everything else is the single-page app): use a pattern below /api/"),
    ("database-variables-without-a-database", "api-gateway", {"environment": {"DATABASE_URL": "postgres://db"}}, "services.api-gateway.environment.DATABASE_URL = 'postgres://db': reserved (DATABASE_*, DB_*, REDIS_*, AWS_REGION, ENVIRONMENT, METRIC_NAMESPACE, SERVICE_NAME): api-gateway has no database: set services.api-gateway.database to give it one"),
    ("database-secret-without-a-database", "api-gateway", {"secrets": {"DB_PASSWORD": "db"}}, "services.api-gateway.secrets.DB_PASSWORD = 'db': reserved"),
    ("platform-variable-overridden", "events", {"environment": {"REDIS_HOST": "localhost"}}, "services.events.environment.REDIS_HOST = 'localhost': reserved (DATABASE_*, DB_*, REDIS_*, AWS_REGION, ENVIRONMENT, METRIC_NAMESPACE, SERVICE_NAME): the platform sets it from the data tier"),
    ("privileged-port", "events", {"port": 80}, "services.events.port = 80: must be at least 1024"),
    ("root-user", "events", {"user": "0:0"}, "services.events.user = '0:0': uid 0 is root"),
    ("user-by-name", "events", {"user": "root"}, "services.events.user = 'root': uid or uid:gid in digits"),
    ("variable-name-with-dash", "events", {"environment": {"LOG-LEVEL": "info"}}, "'LOG-LEVEL': a variable name is letters, digits and _"),
    ("secret-name-with-space", "auth", {"secrets": {"JWT_KEY": "jwt key"}}, "JWT_KEY = 'jwt key': a secret name of A-Z a-z 0-9 / _ + = . @ -"),
    ("aws-metric-namespace", "bookings", {"metric_namespace": "AWS/ECS"}, "services.bookings.metric_namespace = 'AWS/ECS': 1 to 255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/"),
    ("architecture-typo", "events", {"architecture": "arm"}, "services.events.architecture = 'arm': must be one of 'arm64', 'x86_64'"),
    ("maintenance-without-a-database", "search", {"vacuum_tables": ["documents"]}, "services.search.database = None: vacuum_tables and partitioned_tables need the service's own database: set it"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("service", "values", "message"),
    [case[1:] for case in INVALID_SERVICES],
    ids=[case[0] for case in INVALID_SERVICES],
)
def test_bad_service_shapes_are_named(service: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_services(services_with(service, **values), source="services.toml")
    problems = "\n".join(caught.value.problems)
    assert message in problems
    assert all(p.startswith("services.toml: ") for p in caught.value.problems)


def test_more_listener_rules_than_an_alb_holds_are_refused() -> None:
    data = copy.deepcopy(shared())
    for index in range(15):  # 15 services x 20 patterns = 105 rules of 3 patterns, and api-gateway's
        data["services"][f"svc{index}"] = {"paths": [f"/api/s{index}/p{n}" for n in range(20)]}
    with pytest.raises(
        ConfigError,
        match=r"services = \{table\}: the path patterns need 106 listener rules \(3 patterns per rule next to the origin header's values\) and an ALB holds 100",
    ):
        validate_services(data, source="services.toml")


def test_more_than_twenty_services_are_refused_with_the_count() -> None:
    data = copy.deepcopy(shared())
    for index in range(16):
        data["services"][f"svc{index}"] = {}
    with pytest.raises(ConfigError, match=r"services.toml: services = \{table\}: must have at most 20 entries, got 21"):
        validate_services(data, source="services.toml")


def test_the_committed_services_are_valid_and_a_sixth_service_is_one_entry() -> None:
    assert list(validate_services(shared(), source="services.toml")) == [
        "api-gateway", "events", "auth", "inventory", "bookings"
    ]  # fmt: skip
    sixth = services_with("search", database="ticketing_search", port=8005, cache_key_prefixes=["search:"])
    assert "search" in validate_services(sixth, source="services.toml")


def test_a_fargate_size_error_lists_the_valid_pairs() -> None:
    problem = size_problem(1024, 1024)
    assert problem is not None
    for cpu in FARGATE_TASK_SIZES:
        assert f"{cpu}:" in problem
    assert (
        size_problem(3000, 4096) == "Fargate offers cpu 256, 512, 1024, 2048, 4096, 8192, 16384 (units of 1/1024 vCPU)"
    )
    assert all(size_problem(cpu, memory) is None for cpu, sizes in FARGATE_TASK_SIZES.items() for memory in sizes)


# --- properties -----------------------------------------------------------------------------------

_ALPHABET = "ab/"
patterns = st.text(alphabet=_ALPHABET + "*?", min_size=0, max_size=3).map(lambda text: "/" + text)
#: Every path up to 7 characters after the leading slash: enough to witness any overlap of two of the
#: patterns above (a shortest common path is never longer than the two patterns together).
_PATHS = ["/" + "".join(chars) for size in range(8) for chars in itertools.product(_ALPHABET, repeat=size)]


@given(patterns, patterns)
@settings(max_examples=300, deadline=None)
def test_overlap_agrees_with_brute_force(first: str, second: str) -> None:
    """Two patterns overlap exactly when some short path over their characters matches both."""
    a, b = re.compile(_regex(first), re.DOTALL), re.compile(_regex(second), re.DOTALL)
    witness = any(a.fullmatch(path) and b.fullmatch(path) for path in _PATHS)
    assert overlap(first, second) == witness
    assert overlap(second, first) == witness


def _regex(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@given(patterns)
def test_every_pattern_overlaps_itself(pattern: str) -> None:
    assert overlap(pattern, pattern)


def test_alb_pattern_rules() -> None:
    assert pattern_problem("/api/*") is None
    assert pattern_problem("/" + "a" * 128) == "at most 128 characters, got 129"
    assert matches("/api/*", "/api/events/1")
    assert not matches("/api/*", "/apis")


@given(st.integers(0, 100), st.integers(0, 10))
def test_capacity_mix_is_never_empty_and_keeps_the_base_on_demand(spot: int, base: int) -> None:
    strategies = CapacityMix(spot_percent=spot, on_demand_base=base).strategies()
    assert strategies
    by_provider = {s.capacity_provider: s for s in strategies}
    assert sum(s.weight or 0 for s in strategies) == 100
    assert (by_provider[FARGATE_SPOT].weight if FARGATE_SPOT in by_provider else 0) == spot
    if base:
        assert by_provider[FARGATE].base == base
    assert FARGATE_SPOT not in by_provider or by_provider[FARGATE_SPOT].base is None


@pytest.mark.parametrize("spot", [-1, 101])
def test_capacity_mix_refuses_shares_outside_0_to_100(spot: int) -> None:
    with pytest.raises(ValueError, match="spot_percent: must be 0 to 100"):
        CapacityMix(spot_percent=spot)


@pytest.mark.parametrize(("weekends", "start_days"), [("stopped", "MON-FRI"), ("running", "*")])
def test_night_schedule_stops_every_day_and_starts_per_the_weekend_choice(weekends: str, start_days: str) -> None:
    night = NightScalingConfig.model_validate({"weekends": weekends, "stop_at": "20:30", "start_at": "08:45"})
    stop, start = night_schedules(night, Sizing(cpu=256, memory_mib=512, min_tasks=2, max_tasks=6))
    assert (stop.hour, stop.minute, stop.week_days, stop.min_tasks, stop.max_tasks) == (20, 30, "*", 0, 0)
    assert (start.hour, start.minute, start.week_days) == (8, 45, start_days)
    assert (start.min_tasks, start.max_tasks) == (2, 6)
    assert stop.time_zone == start.time_zone == "Asia/Seoul"
    assert night_schedules(None, Sizing(cpu=256, memory_mib=512, min_tasks=2, max_tasks=6)) == []
