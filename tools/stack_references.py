"""What a resource of a cloud assembly refers to, within its stack and across stacks.

Within a stack: `Ref`, `Fn::GetAtt` and `Fn::Sub`'s `${X}` (tools/replacement_rules.py). Across stacks, the
two ways a template reads another stack's value: `Fn::GetStackOutput` (the CDK's weak cross-stack
references, `@aws-cdk/core:defaultCrossStackReferences`) names the stack, its region and the output;
`Fn::ImportValue` names an export. Either is followed to the output's value and from there to the
resources it refers to. Stacks are found by (account, region, name), as CloudFormation deploys them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tools.cloud_assembly import AssemblyStack
from tools.replacement_rules import referenced_ids

StackKey = tuple[str, str, str]
#: A resource of the assembly: its stack's (account, region, name) and its logical ID.
Node = tuple[StackKey, str]


def stack_outputs_read(value: Any) -> set[tuple[str | None, str, str]]:
    """(region or None, stack name, output name) of every `Fn::GetStackOutput` in `value`."""
    found: set[tuple[str | None, str, str]] = set()
    if isinstance(value, dict):
        read = value.get("Fn::GetStackOutput")
        if isinstance(read, dict):
            region, name, output = read.get("Region"), read.get("StackName"), read.get("OutputName")
            if isinstance(name, str) and isinstance(output, str):
                found.add((region if isinstance(region, str) else None, name, output))
        for item in value.values():
            found |= stack_outputs_read(item)
    elif isinstance(value, list):
        for item in value:
            found |= stack_outputs_read(item)
    return found


def exports_imported(value: Any) -> set[str]:
    """The export names of every `Fn::ImportValue` of a literal name in `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Fn::ImportValue"), str):
            found.add(value["Fn::ImportValue"])
        for item in value.values():
            found |= exports_imported(item)
    elif isinstance(value, list):
        for item in value:
            found |= exports_imported(item)
    return found


def resources(stack: AssemblyStack) -> dict[str, Any]:
    """The stack's resources, without the CDK's version-reporting metadata (the CLI adds it, tests do not)."""
    found = stack.template.get("Resources", {})
    return {k: r for k, r in found.items() if isinstance(r, dict) and r.get("Type") != "AWS::CDK::Metadata"}


class References:
    """Resolves what values in the templates of `stacks` refer to."""

    def __init__(self, stacks: Sequence[AssemblyStack]) -> None:
        self.stacks = {stack.key: stack for stack in stacks}
        self.exports: dict[tuple[str, str, str], tuple[AssemblyStack, Any]] = {}
        for stack in stacks:
            for output in (stack.template.get("Outputs") or {}).values():
                name = (output.get("Export") or {}).get("Name") if isinstance(output, dict) else None
                if isinstance(name, str):
                    self.exports[(stack.account, stack.region, name)] = (stack, output.get("Value"))

    def resource(self, node: Node) -> dict[str, Any] | None:
        stack = self.stacks.get(node[0])
        return None if stack is None else resources(stack).get(node[1])

    def targets(self, stack: AssemblyStack, value: Any) -> set[Node]:
        """The resources of this assembly `value` (in a template of `stack`) refers to."""
        found = self._local(stack, referenced_ids(value))
        for region, name, output_name in stack_outputs_read(value):
            other = self.stacks.get((stack.account, region or stack.region, name))
            output = (other.template.get("Outputs") or {}).get(output_name) if other is not None else None
            if other is not None and isinstance(output, dict):
                found |= self._local(other, referenced_ids(output.get("Value")))
        for export in exports_imported(value):
            exporter = self.exports.get((stack.account, stack.region, export))
            if exporter is not None:
                found |= self._local(exporter[0], referenced_ids(exporter[1]))
        return found

    @staticmethod
    def _local(stack: AssemblyStack, logical_ids: Iterable[str]) -> set[Node]:
        present = resources(stack)
        return {(stack.key, logical_id) for logical_id in logical_ids if logical_id in present}
