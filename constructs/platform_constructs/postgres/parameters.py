"""The parameter group the primary and every replica share: TLS only, audit logging, pg_stat_statements."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_rds as rds
from constructs import Construct

from platform_constructs import limits


@dataclass(frozen=True)
class ParameterProps:
    """The logging thresholds and timeouts of the parameter group (each checked when the props are made).

    :param slow_query_threshold_ms: ``log_min_duration_statement``: statements slower than this are logged,
        0 to 3600000 (default: 500 ms, the API's p95 latency budget).
    :param autovacuum_log_threshold_ms: ``log_autovacuum_min_duration``, 0 to 3600000 (default: 1000 ms).
    :param idle_in_transaction_timeout_ms: ``idle_in_transaction_session_timeout``: sessions idle inside a
        transaction longer than this are ended, 1000 to 3600000 (default: 60 s).
    """

    slow_query_threshold_ms: int = 500
    autovacuum_log_threshold_ms: int = 1000
    idle_in_transaction_timeout_ms: int = 60_000

    def __post_init__(self) -> None:
        limits.LOG_DURATION_THRESHOLD_MS.check("ParameterProps.slow_query_threshold_ms", self.slow_query_threshold_ms)
        limits.LOG_DURATION_THRESHOLD_MS.check(
            "ParameterProps.autovacuum_log_threshold_ms", self.autovacuum_log_threshold_ms
        )
        limits.IDLE_IN_TRANSACTION_TIMEOUT_MS.check(
            "ParameterProps.idle_in_transaction_timeout_ms", self.idle_in_transaction_timeout_ms
        )


def create_parameter_group(scope: Construct, engine: rds.IInstanceEngine, props: ParameterProps) -> rds.ParameterGroup:
    """TLS only, slow-query (without bind parameter values), autovacuum and connection logging,
    pg_stat_statements; created in `scope` as ``ParameterGroup``."""
    return rds.ParameterGroup(
        scope,
        "ParameterGroup",
        engine=engine,
        description="PostgreSQL: TLS only, slow-query and connection logging, pg_stat_statements",
        parameters={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all",
            "log_min_duration_statement": str(props.slow_query_threshold_ms),
            "log_autovacuum_min_duration": str(props.autovacuum_log_threshold_ms),
            "idle_in_transaction_session_timeout": str(props.idle_in_transaction_timeout_ms),
            "rds.force_ssl": "1",
            # Who connected and for how long: audit records for NIST AU-2 / PCI DSS 10.2.
            "log_connections": "1",
            "log_disconnections": "1",
            # Slow statements and errors are logged without their bind parameter values: those carry
            # payment and personal data, and the logs are kept for a year. PostgreSQL logs them in full
            # by default (-1) for statements log_min_duration_statement logs; in error messages its
            # default is already 0, pinned here so that neither a default nor a console edit brings them
            # back.
            "log_parameter_max_length": "0",
            "log_parameter_max_length_on_error": "0",
        },
    )
