"""The reader name: one stable DNS name for reads, spread over the replicas by weighted CNAMEs.

RDS Proxy read-only endpoints exist only for Aurora, so reads use a Route 53 name instead: a weighted CNAME
(equal weights, one record per replica) in a private hosted zone. It is DNS load spreading, not
health-checked failover: a failed replica keeps its share of answers until it is removed or recreated. With
no replicas the name points at the proxy, so readers work unchanged and start spreading as soon as replicas
are added (the records are always weighted so the switch never collides).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, aws_ec2 as ec2, aws_rds as rds, aws_route53 as route53
from constructs import Construct

DEFAULT_READ_ENDPOINT_TTL = Duration.seconds(30)
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ReaderProps:
    """Where the reader name lives.

    :param zone: private hosted zone for the reader name (default: a new ``db.internal`` zone bound to the
        VPC; pass a shared zone when several databases live in one VPC, because a VPC can have only one
        private zone per name).
    :param name: record name of the reader in that zone (default: ``reader``).
    :param ttl: TTL of the reader records (default: 30 s).
    """

    zone: route53.IPrivateHostedZone | None = None
    name: str = "reader"
    ttl: Duration = DEFAULT_READ_ENDPOINT_TTL

    def __post_init__(self) -> None:
        if not _DNS_LABEL.fullmatch(self.name):
            raise ValueError(
                f"ReaderProps.name: must be one DNS label (lower-case letters, digits, hyphens), got {self.name!r}"
            )


@dataclass(frozen=True)
class ReaderName:
    """The zone, its weighted records and the name they answer for."""

    zone: route53.IPrivateHostedZone
    records: list[route53.CnameRecord]
    hostname: str


def create_reader_name(
    scope: Construct,
    vpc: ec2.IVpc,
    props: ReaderProps,
    *,
    replicas: Sequence[rds.IDatabaseInstance],
    proxy_endpoint: str,
) -> ReaderName:
    """The zone (``ReadEndpointZone``, unless given) and weighted CNAMEs of equal weight: one per replica
    (``ReaderReplicaNRecord``), or one to the proxy (``ReaderProxyRecord``) when there are none."""
    zone = props.zone or route53.PrivateHostedZone(
        scope, "ReadEndpointZone", vpc=vpc, zone_name="db.internal", comment="Stable names of PostgreSQL readers"
    )
    targets: list[tuple[str, str]] = [
        (f"Replica{index}", replica.db_instance_endpoint_address) for index, replica in enumerate(replicas, start=1)
    ] or [("Proxy", proxy_endpoint)]
    records = [
        route53.CnameRecord(
            scope,
            f"Reader{target_id}Record",
            zone=zone,
            record_name=props.name,
            domain_name=address,
            weight=1,
            set_identifier=target_id.lower(),
            ttl=props.ttl,
            comment=f"Reader name -> {target_id}",
        )
        for target_id, address in targets
    ]
    return ReaderName(zone=zone, records=records, hostname=f"{props.name}.{zone.zone_name}")
