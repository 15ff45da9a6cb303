"""The id of CloudFront's origin-facing managed prefix list in each region, never looked up.

`com.amazonaws.global.cloudfront.origin-facing` holds the addresses CloudFront uses to reach
origins. It is one list with a different id in every region, and AWS publishes no table of them;
`ec2.PrefixList.from_lookup` would need credentials at synthesis. The ids below were collected
from public CloudFormation mappings and configuration (2026-11-29), each seen in at least two
independent sources (ap-south-1 also in real `describe-managed-prefix-lists` output); regions seen in
one source only, or none, are left out. For any other region set
`load_balancer.cloudfront_prefix_list_id` in the environment file, from the command below; the
first deploy fails cleanly if an id is wrong (the security group rule names a list that does not
exist), so a wrong entry cannot go unnoticed.
"""

from __future__ import annotations

PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing"

#: How an operator finds the id (add `--region <region>`).
PREFIX_LIST_COMMAND = (
    f"aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values={PREFIX_LIST_NAME} "
    "--query 'PrefixLists[0].PrefixListId'"
)

CLOUDFRONT_ORIGIN_PREFIX_LISTS: dict[str, str] = {
    "ap-northeast-1": "pl-58a04531",
    "ap-northeast-2": "pl-22a6434b",
    "ap-south-1": "pl-9aa247f3",
    "ap-southeast-1": "pl-31a34658",
    "ap-southeast-2": "pl-b8a742d1",
    "ca-central-1": "pl-38a64351",
    "eu-central-1": "pl-a3a144ca",
    "eu-north-1": "pl-fab65393",
    "eu-west-1": "pl-4fa04526",
    "eu-west-2": "pl-93a247fa",
    "eu-west-3": "pl-75b1541c",
    "sa-east-1": "pl-5da64334",
    "us-east-1": "pl-3b927c52",
    "us-east-2": "pl-b6a144df",
    "us-west-1": "pl-4ea04527",
    "us-west-2": "pl-82a045eb",
}

#: A security group's rule quota is 60 by default; this list counts as this many rules.
PREFIX_LIST_RULE_WEIGHT = 55
