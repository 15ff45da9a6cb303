"""One CDK Stage per environment: the stacks, their order, tags and protection."""

from __future__ import annotations

from aws_cdk import Environment, Stage
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.tagging import apply_tags
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack

PROJECT = "ticketing"

#: Stage construct ids. Fixed per environment name: they prefix every stack's artifact id.
STAGE_IDS = {"dev": "Dev", "staging": "Staging", "prod": "Prod"}


class PlatformStage(Stage):
    """All stacks of one environment, deployed into its account and region."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            STAGE_IDS[config.name],
            env=Environment(account=config.account, region=config.region),
        )
        self.config = config

        self.network = NetworkStack(
            self,
            "Network",
            config=config,
            stack_name=f"{PROJECT}-{config.name}-network",
            description=f"Ticketing platform {config.name}: VPC, subnets, NAT, endpoints, flow logs",
            # Deleting the VPC takes every service down with it; only dev is torn down on purpose.
            termination_protection=not config.is_disposable,
        )
        self.data = DataStack(
            self,
            "Data",
            config=config,
            network=self.network,
            stack_name=f"{PROJECT}-{config.name}-data",
            description=f"Ticketing platform {config.name}: PostgreSQL, read replicas, RDS Proxy, cache",
            termination_protection=not config.is_disposable,
        )

        tags = {
            "Project": PROJECT,
            "Environment": config.name,
            "ManagedBy": "aws-cdk",
            **config.tags,
        }
        apply_tags(self, tags)
