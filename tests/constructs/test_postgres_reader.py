"""The reader name (``reader``): weighted CNAMEs over the replicas, or the proxy without them."""

from __future__ import annotations

from tests.constructs.postgres_fixture import (
    PostgresApp,
)


def test_reader_name_is_a_weighted_cname_per_replica(postgres: PostgresApp) -> None:
    zone = postgres.main.read_endpoint_zone
    postgres.template.has_resource_properties(
        "AWS::Route53::HostedZone",
        {
            "Name": "db.internal.",
            "VPCs": [{"VPCId": {"Ref": postgres.id_of(postgres.vpc)}, "VPCRegion": "ap-northeast-2"}],
        },
    )
    for index, (record, replica) in enumerate(
        zip(postgres.main.reader_records, postgres.main.replicas, strict=True), 1
    ):
        assert postgres.props(record) == {
            "HostedZoneId": {"Ref": postgres.id_of(zone)},
            "Name": "reader.db.internal.",
            "Type": "CNAME",
            "TTL": "30",
            "Weight": 1,
            "SetIdentifier": f"replica{index}",
            "ResourceRecords": [{"Fn::GetAtt": [postgres.id_of(replica), "Endpoint.Address"]}],
            "Comment": f"Reader name -> Replica{index}",
        }
    assert postgres.stack.resolve(postgres.main.reader_endpoint_hostname) == "reader.db.internal"


def test_reader_name_without_replicas_points_at_the_proxy(postgres: PostgresApp) -> None:
    (record,) = postgres.small.reader_records
    props = postgres.props(record)
    assert props["Name"] == "events-reader.db.internal."
    assert props["HostedZoneId"] == {"Ref": postgres.id_of(postgres.main.read_endpoint_zone)}
    assert (props["Weight"], props["SetIdentifier"]) == (1, "proxy")
    assert props["ResourceRecords"] == [{"Fn::GetAtt": [postgres.id_of(postgres.small.proxy), "Endpoint"]}]
