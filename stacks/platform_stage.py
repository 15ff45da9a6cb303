"""One CDK Stage per environment: the stacks, their order, tags and protection."""

from __future__ import annotations

from aws_cdk import Aspects, Environment
from constructs import Construct

from config.edge import EDGE_REGION
from config.schema import EnvironmentConfig
from platform_constructs.batched_aspects import BatchedAspectsStage, add_aspect
from platform_constructs.capacity_provider_order import ServicesAfterCapacityProviders
from platform_constructs.commitment_tags import CommitmentTags
from platform_constructs.physical_names import PROJECT, Tier, backup_vault_name, copy_vault_name, stack_name
from platform_constructs.protect_retained import ProtectRetained
from platform_constructs.tagging import apply_tags
from stacks.alerts_stack import AlertsStack
from stacks.backup_vault_stack import BackupVaultStack
from stacks.cost_stack import ENVIRONMENT_TAG, CostStack
from stacks.data_stack import DataStack
from stacks.edge_stack import EdgeStack
from stacks.monitoring_stack import MonitoringStack
from stacks.network_stack import NetworkStack
from stacks.registry_stack import RegistryStack
from stacks.services_stack import ServicesStack

#: Stage construct ids. Fixed per environment name: they prefix every stack's artifact id.
STAGE_IDS = {"dev": "Dev", "staging": "Staging", "prod": "Prod"}


class PlatformStage(BatchedAspectsStage):
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
            stack_name=stack_name(config.name, Tier.NETWORK),
            description=f"Ticketing platform {config.name}: VPC, subnets, NAT, endpoints, flow logs",
            # Deleting the VPC takes every service down with it; only dev is torn down on purpose.
            termination_protection=not config.is_disposable,
        )
        # Never torn down, not even dev (docs/tiers/backup.md): the recovery points outlive everything else.
        self.backup_vault = BackupVaultStack(
            self,
            "BackupVault",
            config=config,
            vault_name=backup_vault_name(config.name),
            holds="the database's recovery points",
            stack_name=stack_name(config.name, Tier.BACKUP_VAULT),
            description=f"Ticketing platform {config.name}: the vault of the database's recovery points",
            termination_protection=True,
        )
        self.backup_copies = BackupVaultStack(
            self,
            "BackupCopies",
            config=config,
            vault_name=copy_vault_name(config.name),
            holds="copies of the database's daily recovery points",
            env=Environment(account=config.account, region=config.backup.copy_region),
            stack_name=stack_name(config.name, Tier.BACKUP_COPIES),
            description=f"Ticketing platform {config.name}: the vault of the copies in {config.backup.copy_region}",
            termination_protection=True,
        )
        self.data = DataStack(
            self,
            "Data",
            config=config,
            network=self.network,
            stack_name=stack_name(config.name, Tier.DATA),
            description=f"Ticketing platform {config.name}: PostgreSQL, read replicas, RDS Proxy, cache",
            termination_protection=not config.is_disposable,
        )

        self.data.add_stack_dependency(self.backup_vault, "its backup plan writes into the vault")
        self.data.add_stack_dependency(self.backup_copies, "its backup plan copies into the copy region's vault")

        self.alerts = AlertsStack(
            self,
            "Alerts",
            config=config,
            stack_name=stack_name(config.name, Tier.ALERTS),
            description=f"Ticketing platform {config.name}: alarm topics (critical pages, warning mails)",
            termination_protection=False,  # stateless: the topics are created again with the same names
        )

        self.cost = CostStack(
            self,
            "Cost",
            config=config,
            stack_name=stack_name(config.name, Tier.COST),
            description=f"Ticketing platform {config.name}: the budget, the coverage and unused-resource reports",
            termination_protection=False,  # stateless: the report bucket is retained
        )
        self.cost.add_stack_dependency(self.alerts, "its budget and reports notify the warning topic")

        self.registry = RegistryStack(
            self,
            "Registry",
            config=config,
            stack_name=stack_name(config.name, Tier.REGISTRY),
            description=f"Ticketing platform {config.name}: container image repositories",
            termination_protection=not config.is_disposable,
        )
        self.services = ServicesStack(
            self,
            "Services",
            config=config,
            network=self.network,
            stack_name=stack_name(config.name, Tier.SERVICES),
            description=f"Ticketing platform {config.name}: ECS Fargate services, ALB",
            # Stateless: it can be destroyed and deployed again in every environment.
            termination_protection=False,
        )
        # The services read the data tier's endpoints from SSM at deploy time: no reference, so say it.
        self.services.add_stack_dependency(self.data, "reads the data tier's SSM parameters and access policies")
        self.services.add_stack_dependency(self.registry, "pulls its images from the registry's repositories")
        self.services.add_stack_dependency(self.alerts, "its seat alarm notifies the warning topic")
        self.services.add_stack_dependency(self.network, "its listener reads the origin-header secret by name")
        # Not batched: it needs the capacity-provider association that the ECS cluster's own aspect
        # creates during synthesis, so it runs among aws-cdk-lib's aspects (its scope is one stack).
        Aspects.of(self.services).add(ServicesAfterCapacityProviders())
        self.edge = EdgeStack(
            self,
            "Edge",
            config=config,
            env=Environment(account=config.account, region=EDGE_REGION),
            stack_name=stack_name(config.name, Tier.EDGE),
            description=f"Ticketing platform {config.name}: CloudFront, WAF, the SPA bucket (us-east-1)",
            termination_protection=not config.is_disposable,
        )
        # The header's value is read by name from the network stack's secret (its us-east-1 replica): no
        # reference ties them, so say it. After the services stack: the listener accepts a new value before
        # the distribution sends it (docs/runbooks/origin-header.md).
        self.edge.add_stack_dependency(self.network, "resolves the origin-header secret's us-east-1 replica by name")
        self.edge.add_stack_dependency(self.services, "its origin is the ALB, whose listener must accept its header")
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            config=config,
            data=self.data,
            stack_name=stack_name(config.name, Tier.MONITORING),
            description=f"Ticketing platform {config.name}: alarms and the dashboard",
            termination_protection=False,  # stateless: alarms and the dashboard are created again
        )
        for stack, reason in (
            (self.alerts, "its alarms notify the alert topics"),
            (self.data, "reads the data tier's SSM parameters (cache group, maintenance function)"),
            (self.services, "reads the ALB's name from the services' SSM parameter"),
        ):
            self.monitoring.add_stack_dependency(stack, reason)

        tags = {
            "Project": PROJECT,
            ENVIRONMENT_TAG: config.name,
            "ManagedBy": "aws-cdk",
            **config.tags,
        }
        apply_tags(self, tags)
        add_aspect(self, CommitmentTags(config.cost.commitment_term))
        add_aspect(self, ProtectRetained(config.cost.unused.protection_tag))
