"""Python aspects applied in one walk of the tree when their stage synthesises.

`Aspects.of(scope).add(aspect)` has aws-cdk-lib call the aspect's `visit` once per construct under
`scope`. For an aspect written in Python each of those calls is a round trip from Node.js to Python
and back, and an environment holds about 900 constructs: with four aspects that was over half of
an environment's synthesis, spent mostly on constructs the aspects ignore.

`BatchedAspectsStage` lists the constructs under each scope with one call when the stage
synthesises and visits every one of them, once per aspect, in Python; the aspects then decide in
Python which constructs they need to ask Node.js about. Like `Aspects.of`, it visits each construct
once per synthesis: `synth()` on a stage already synthesised returns the same assembly and visits
nothing, `synth(force=True)` synthesises again and visits everything again (aspects are idempotent,
as aws-cdk-lib requires of its own). Unlike `Aspects.of`, it does not visit what aws-cdk-lib's own
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
        #: (the scope's construct path, the scope, the aspect), in the order they were added.
        self._batched: list[tuple[str, IConstruct, IAspect]] = []
        self._synthesized = False

    def add_batched_aspect(self, scope: IConstruct, aspect: IAspect) -> None:
        """Like `Aspects.of(scope).add(aspect)`: the same aspect added twice to a scope runs once."""
        # By path: a construct made in Node.js may reach Python as a different proxy object each time.
        path = scope.node.path
        if not any(known == path and added is aspect for known, _, added in self._batched):
            self._batched.append((path, scope, aspect))

    def apply_batched_aspects(self) -> None:
        """Visit every construct under each aspect's scope with that aspect."""
        walked: dict[str, list[IConstruct]] = {}
        for path, scope, aspect in self._batched:
            nodes = walked.get(path)
            if nodes is None:
                nodes = walked[path] = scope.node.find_all()  # one call for the whole subtree
                stages = [node.node.path for node in nodes if isinstance(node, Stage)]
                nested = [stage for stage in stages if stage != self.node.path]
                if nested:
                    raise ValueError(
                        f"{self.node.path}: a BatchedAspectsStage holds no nested stage (aspects do not cross "
                        f"stages), found {', '.join(nested)}"
                    )
            for node in nodes:
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
        # `Template.from_stack`, the CLI's run of app.py. A stage synthesises on the first call and when
        # forced; any other call returns the assembly it made (Stage.synth's documented contract).
        if force or not self._synthesized:
            self.apply_batched_aspects()
        assembly = super().synth(
            aspect_stabilization=aspect_stabilization,
            error_on_duplicate_synth=error_on_duplicate_synth,
            force=force,
            skip_validation=skip_validation,
            validate_on_synthesis=validate_on_synthesis,
        )
        self._synthesized = True
        return assembly


def add_aspect(scope: IConstruct, aspect: IAspect) -> None:
    """`Aspects.of(scope).add(aspect)`, batched when `scope` is, or is inside, a BatchedAspectsStage."""
    stage = scope if isinstance(scope, Stage) else Stage.of(scope)
    if isinstance(stage, BatchedAspectsStage):
        stage.add_batched_aspect(scope, aspect)
    else:
        Aspects.of(scope).add(aspect)
