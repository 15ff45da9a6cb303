"""The IAM actions the preflight and the deploy guard call: read-only, listed so that a role can be given
exactly these (docs/ci.md); `tests/test_preflight.py` checks that a whole run calls nothing else."""

from __future__ import annotations

#: Every action a run calls (sts:GetCallerIdentity needs no permission).
READ_ACTIONS: tuple[str, ...] = (
    "acm:DescribeCertificate",
    "cloudformation:DescribeStacks",
    "cloudformation:ListStackResources",
    "cloudfront:ListDistributions",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeVpcs",
    "ecr:DescribeImages",
    "ecs:DescribeTasks",
    "ecs:ListClusters",
    "ecs:ListTasks",
    "elasticache:DescribeCacheClusters",
    "elasticache:DescribeReplicationGroups",
    "elasticloadbalancing:DescribeAccountLimits",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "iam:ListRoles",
    "lambda:GetAccountSettings",
    "lambda:GetFunctionConcurrency",
    "logs:DescribeResourcePolicies",
    "rds:DescribeAccountAttributes",
    "route53:GetHostedZone",
    "secretsmanager:DescribeSecret",
    "servicequotas:GetServiceQuota",
    "servicequotas:ListServiceQuotas",
    "ssm:GetParameter",
    "wafv2:ListWebACLs",
)
#: What `--fix` adds (with the condition iam:AWSServiceName = ecs.amazonaws.com); never given to CI.
FIX_ACTIONS: tuple[str, ...] = ("iam:CreateServiceLinkedRole",)
#: Calls that need no permission.
UNAUTHORISED_CALLS: tuple[str, ...] = ("sts:GetCallerIdentity",)
