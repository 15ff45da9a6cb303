"""Make every ECS service wait for its cluster's capacity-provider association.

A service whose strategy names FARGATE or FARGATE_SPOT can be created only after the cluster has
those providers, and the association can be deleted only after the service is gone ("The
specified capacity provider is in use"). aws-cdk-lib adds no such dependency, so CloudFormation may
run both in parallel, in either direction. This Aspect adds `DependsOn` from each
`AWS::ECS::Service` to the `AWS::ECS::ClusterCapacityProviderAssociations` of the same cluster in
the same stack, whichever construct created them.
"""

from __future__ import annotations

import jsii
from aws_cdk import IAspect, Stack, aws_ecs as ecs
from constructs import IConstruct


@jsii.implements(IAspect)
class ServicesAfterCapacityProviders:
    """Add with `Aspects.of(scope).add(ServicesAfterCapacityProviders())`, never batched.

    The association it looks for is created by the ECS cluster's own aspect during synthesis.
    """

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, ecs.CfnService):
            return
        stack = Stack.of(node)
        cluster = stack.resolve(node.cluster)
        for candidate in stack.node.find_all():
            if (
                isinstance(candidate, ecs.CfnClusterCapacityProviderAssociations)
                and Stack.of(candidate) is stack
                and stack.resolve(candidate.cluster) == cluster
            ):
                node.add_resource_dependency(candidate)
