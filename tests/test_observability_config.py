"""Bad [observability] config is refused with the key and what is allowed; instance memory is known."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from config import ConfigError
from config.aws_offerings import postgres_instance_classes
from config.instance_memory import max_connections_of, memory_gib
from config.loader import validate_environment
from platform_constructs.postgres import GRAVITON_FAMILIES
from tests.test_config_validation import DELETE, with_change

# (id, base file, dotted key, new value, message the error must contain)
INVALID_OBSERVABILITY = [
    ("no-pager", "dev", "observability.pagerduty_url", DELETE, "observability.pagerduty_url: required key is missing"),
    ("pager-over-http", "dev", "observability.pagerduty_url", "http://events.pagerduty.com/integration/k/enqueue", "observability.pagerduty_url = 'http://events.pagerduty.com/integration/k/enqueue': an https:// URL without spaces"),
    ("pager-with-space", "dev", "observability.pagerduty_url", "https://events.pagerduty.com/a b", "an https:// URL without spaces"),
    ("email-without-domain", "dev", "observability.warning_emails", ["ops@"], "observability.warning_emails[0] = 'ops@': an e-mail address"),
    ("email-twice", "dev", "observability.warning_emails", ["a@b.com", "A@b.com"], "addresses must not repeat"),
    ("seat-namespace-nobody-publishes", "dev", "observability.seats", {"namespace": "Ticketing/Seats"}, "observability.seats.namespace = 'Ticketing/Seats': no service publishes to it (each task may write to its own namespace only); the services' namespaces: Ticketing/ApiGateway, Ticketing/Auth, Ticketing/Bookings, Ticketing/Events, Ticketing/Inventory"),
    ("seat-namespace-of-aws", "dev", "observability.seats", {"namespace": "AWS/ECS"}, "observability.seats.namespace = 'AWS/ECS': namespaces starting with AWS/ are reserved"),
    ("seat-scaling-unknown-service", "dev", "observability.seats", {"scale_out_services": ["inventory", "payments"]}, "observability.seats.scale_out_services[1] = 'payments': no such service in services.toml"),
    # A look-alike name: escaped in the message, which stays printable ASCII (hypothesis found it unescaped).
    ("seat-scaling-look-alike", "prod", "observability.seats", {"scale_out_services": ["\u00a1inventory", "bookings"]}, "observability.seats.scale_out_services[0] = '\\xa1inventory': no such service in services.toml"),
    ("seat-scaling-too-many", "dev", "observability.seats", {"scale_out_services": ["inventory", "bookings", "events", "auth", "api-gateway"]}, "observability.seats.scale_out_services = ['inventory', 'bookings', 'events', 'auth', 'api-gateway']: must have at most 4 entries, got 5"),
    ("seat-scaling-repeated", "dev", "observability.seats", {"scale_out_services": ["inventory", "inventory"]}, "services must not repeat"),
    ("seat-dimension-with-space", "dev", "observability.seats", {"dimensions": {"Event Class": "popular"}}, 'observability.seats.dimensions."Event Class" = \'Event Class\': a dimension name is 1 to 255 printable ASCII characters'),
    ("seat-threshold-zero", "dev", "observability.seats", {"threshold": 0}, "observability.seats.threshold = 0: must be 1 to 1000000000"),
    ("booking-namespace-nobody-publishes", "dev", "observability.bookings", {"namespace": "Ticketing/Payments"}, "observability.bookings.namespace = 'Ticketing/Payments': no service publishes to it"),
    ("success-share-above-100", "dev", "observability.bookings", {"min_success_percent": 101}, "observability.bookings.min_success_percent = 101: must be 1 to 100 %"),
    ("latency-as-text", "dev", "observability.load_balancer", {"latency_p95_ms": "500"}, "observability.load_balancer.latency_p95_ms = '500': must be a whole number"),
    ("task-alarm-too-quick", "dev", "observability.services", {"missing_task_minutes": 1}, "observability.services.missing_task_minutes = 1: must be 3 to 60 minutes"),
    ("grace-beyond-two-hours", "dev", "observability.morning_grace_minutes", 180, "observability.morning_grace_minutes = 180: must be 0 to 120 minutes"),
    ("unknown-threshold-key", "dev", "observability.database", {"cpu": 80}, "observability.database.cpu: unknown key; allowed here: connections_percent, cpu_percent, free_storage_percent"),
    ("band-too-narrow", "dev", "observability.edge", {"waf_blocked_band_width": 0}, "observability.edge.waf_blocked_band_width = 0: must be 1 to 10 standard deviations"),
    # One 5xx among fewer than 100 / error_rate_percent requests is already above the rate: refused.
    ("edge-judged-from-too-few", "dev", "observability.edge", {"error_rate_percent": 5, "min_requests": 19}, "observability.edge.min_requests = 19: must be at least 20 (100 / error_rate_percent 5): with fewer requests a single 5xx answer is already above the rate and pages"),
    ("edge-judged-from-too-few-rounded-up", "dev", "observability.edge", {"error_rate_percent": 3, "min_requests": 33}, "observability.edge.min_requests = 33: must be at least 34 (100 / error_rate_percent 3)"),
    ("edge-min-requests-zero", "dev", "observability.edge", {"min_requests": 0}, "observability.edge.min_requests = 0: must be 1 to 1000000000"),
    ("edge-min-requests-as-text", "dev", "observability.edge", {"min_requests": "20"}, "observability.edge.min_requests = '20': must be a whole number"),
    ("elb-errors-zero", "dev", "observability.load_balancer", {"elb_error_count": 0}, "observability.load_balancer.elb_error_count = 0: must be 1 to 1000000000"),
    ("unhealthy-one-minute", "dev", "observability.load_balancer", {"unhealthy_target_minutes": 1}, "observability.load_balancer.unhealthy_target_minutes = 1: must be 2 to 60 minutes"),
    # A daily plan: a day is no window; CloudWatch evaluates at most 7 days (evaluation periods x period).
    ("recovery-point-within-the-jobs-windows", "dev", "observability.backups", {"recovery_point_hours": 33}, "observability.backups.recovery_point_hours = 33: must be 34 to 168 hours"),
    ("recovery-point-beyond-a-week", "prod", "observability.backups", {"recovery_point_hours": 169}, "observability.backups.recovery_point_hours = 169: must be 34 to 168 hours"),
    ("backups-unknown-key", "dev", "observability.backups", {"hours": 34}, "observability.backups.hours: unknown key; allowed here: recovery_point_hours"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [case[1:] for case in INVALID_OBSERVABILITY],
    ids=[case[0] for case in INVALID_OBSERVABILITY],
)
def test_bad_observability_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    assert message in "\n".join(caught.value.problems)


def test_thresholds_default_to_the_guide() -> None:
    config = validate_environment(
        with_change("dev", "observability", {"pagerduty_url": "https://events.pagerduty.com/integration/k/enqueue"}),
        source="dev.toml",
        expected_name="dev",
    )
    o = config.observability
    assert (o.load_balancer.error_count, o.load_balancer.latency_p95_ms) == (10, 500)
    assert (o.seats.namespace, o.seats.metric, o.seats.threshold) == ("Ticketing/Inventory", "AvailableSeats", 100)
    assert o.seats.scale_out_services == ("inventory", "bookings")
    assert o.bookings.namespace == "Ticketing/Bookings"  # the guide's put_metric_data namespace
    assert o.warning_emails == ()
    assert (o.load_balancer.elb_error_count, o.load_balancer.unhealthy_target_minutes) == (10, 5)
    assert (o.edge.error_rate_percent, o.edge.min_requests) == (5, 100)
    assert o.backups.recovery_point_hours == 34


@settings(max_examples=300, deadline=None)
@given(rate=st.integers(min_value=1, max_value=100), minimum=st.integers(min_value=1, max_value=10_000))
def test_the_edge_minimum_is_accepted_exactly_when_one_error_stays_within_the_rate(rate: int, minimum: int) -> None:
    """Accepted iff one 5xx among `minimum` requests (100 / minimum %) is not above `rate` %."""
    data = with_change("dev", "observability.edge", {"error_rate_percent": rate, "min_requests": minimum})
    one_error_within_rate = rate * minimum >= 100  # 100 / minimum % <= rate %
    if one_error_within_rate:
        config = validate_environment(data, source="dev.toml", expected_name="dev")
        assert config.observability.edge.min_requests == minimum
        return
    with pytest.raises(ConfigError) as caught:
        validate_environment(data, source="dev.toml", expected_name="dev")
    assert any(p.startswith(f"dev.toml: observability.edge.min_requests = {minimum}:") for p in caught.value.problems)


def test_every_instance_class_the_schema_admits_has_a_known_memory() -> None:
    """The connection and memory alarms need it; no class a config may name leaves them without."""
    admitted = [c for c in postgres_instance_classes("ap-northeast-2") if c.split(".")[1] in GRAVITON_FAMILIES]
    assert len(admitted) > 20
    for instance_class in admitted:
        assert memory_gib(instance_class) is not None, instance_class


@pytest.mark.parametrize(
    ("instance_class", "gib", "connections"),
    [
        # AWS's instance-type pages; max_connections is LEAST(memory / 9531392, 5000).
        ("db.t4g.micro", 1, 112),
        ("db.t4g.medium", 4, 450),
        ("db.m7g.large", 8, 901),
        ("db.r7g.large", 16, 1802),
        ("db.r7g.xlarge", 32, 3604),
        ("db.r8g.2xlarge", 64, 5000),
        ("db.m6g.16xlarge", 256, 5000),
    ],
)
def test_memory_and_max_connections_of_known_classes(instance_class: str, gib: int, connections: int) -> None:
    assert memory_gib(instance_class) == gib
    assert max_connections_of(gib) == connections


@pytest.mark.parametrize("instance_class", ["db.x2g.large", "db.r7g.bogus", "r7g.large", "db.t4g.3xlarge"])
def test_classes_without_a_rule_have_no_memory(instance_class: str) -> None:
    assert memory_gib(instance_class) is None
