"""Python aspects applied in one walk of the tree when their stage synthesises.

`Aspects.of(scope).add(aspect)` has aws-cdk-lib call the aspect's `visit` once per construct under
`scope`. For an aspect written in Python each of those calls is a round trip from Node.js to Python
and back, and an environment holds about 900 constructs: with four aspects that was over half of
an environment's synthesis, spent mostly on constructs the aspects ignore.

`BatchedAspectsStage` visits every construct that exists under the scope when the stage
synthesises, once per aspect (constructs added later are visited at the next synthesis), with one
call per synthesis that lists the constructs; the aspects then decide in Python which constructs
they need to ask Node.js about. Unlike `Aspects.of`, it does not visit what aws-cdk-lib's own
aspects create during that synthesis (see below), and a batched stage holds no nested stage.

    add_aspect(scope, aspect)   # in a BatchedAspectsStage: batched; anywhere else: Aspects.of(scope).add

Batched aspects run before aws-cdk-lib's own (`Tags.of` among them), so an aspect that needs what
another aspect creates at synthesis must stay with `Aspects.of`: the ECS cluster creates its
capacity-provider association in an aspect, so `ServicesAfterCapacityProviders` does. A tag set both
by a batched aspect and by `Tags.of` keeps the higher priority either way (`Tags.of` adds at 100,
`set_tag` at 0).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, IAspect, Stage, cx_api
from constructs import IConstruct


class BatchedAspectsStage(Stage):
    """A Stage that applies the aspects given to `add_aspect` in one walk per scope when it synthesises."""

    def __init__(self, scope: IConstruct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]  # IConstruct is what Stage takes
        self._batched: list[tuple[IConstruct, IAspect, set[str]]] = []

    def add_batched_aspect(self, scope: IConstruct, aspect: IAspect) -> None:
        """Like `Aspects.of(scope).add(aspect)`: the same aspect added twice to a scope runs once."""
        if not any(known is scope and added is aspect for known, added, _ in self._batched):
            self._batched.append((scope, aspect, set()))

    def apply_batched_aspects(self) -> None:
        """Visit every construct under each aspect's scope not visited by that aspect yet."""
        walked: dict[int, list[IConstruct]] = {}
        for scope, aspect, visited in self._batched:
            nodes = walked.get(id(scope))
            if nodes is None:
                nodes = walked[id(scope)] = scope.node.find_all()  # one call for the whole subtree
                nested = [node.node.path for node in nodes if isinstance(node, Stage) and node is not self]
                if nested:
                    raise ValueError(
                        f"{self.node.path}: a BatchedAspectsStage holds no nested stage (aspects do not cross "
                        f"stages), found {', '.join(nested)}"
                    )
            for node in nodes:
                # A construct made in Node.js gets a new Python proxy each time it is listed: its jsii
                # reference ("<fqn>@<number>") is what stays the same.
                ref: str = node.__jsii_ref__.ref  # type: ignore[attr-defined]  # every jsii object has one
                if ref not in visited:
                    visited.add(ref)
                    aspect.visit(node)

    def synth(
        self,
        *,
        aspect_stabilization: bool | None = None,
        error_on_duplicate_synth: bool | None = None,
        force: bool | None = None,
        skip_validation: bool | None = None,
        validate_on_synthesis: bool | None = None,
    ) -> cx_api.CloudAssembly:
        # aws-cdk-lib calls this (through jsii) for every synthesis of the stage: `app.synth()`,
        # `Template.from_stack`, the CLI's run of app.py.
        self.apply_batched_aspects()
        return super().synth(
            aspect_stabilization=aspect_stabilization,
            error_on_duplicate_synth=error_on_duplicate_synth,
            force=force,
            skip_validation=skip_validation,
            validate_on_synthesis=validate_on_synthesis,
        )


def add_aspect(scope: IConstruct, aspect: IAspect) -> None:
    """`Aspects.of(scope).add(aspect)`, batched when `scope` is, or is inside, a BatchedAspectsStage."""
    stage = scope if isinstance(scope, Stage) else Stage.of(scope)
    if isinstance(stage, BatchedAspectsStage):
        stage.add_batched_aspect(scope, aspect)
    else:
        Aspects.of(scope).add(aspect)
