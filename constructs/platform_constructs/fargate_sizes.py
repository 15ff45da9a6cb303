"""The CPU and memory sizes a Fargate task may have, and the platform version Spot needs for ARM64.

From the Amazon ECS developer guide, "Task CPU and memory" for Linux on Fargate (checked
2026-11-29). The config schema and the service construct both check against this table, so a
size the schema accepts is never refused later.
"""

from __future__ import annotations

#: CPU units -> the memory sizes (MiB) Fargate offers with it.
FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def _gib(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"


def describe_sizes() -> str:
    """`256 CPU: 512 MiB, 1 GiB, 2 GiB; 512 CPU: 1-4 GiB (1 GiB steps); ...` for error messages."""
    parts = []
    for cpu, memory in FARGATE_TASK_SIZES.items():
        if len(memory) <= 3:
            parts.append(f"{cpu}: {', '.join(str(m) for m in memory)}")
        else:
            parts.append(f"{cpu}: {memory[0]} to {memory[-1]} in steps of {memory[1] - memory[0]}")
    return "; ".join(parts)


def size_problem(cpu: int, memory_mib: int) -> str | None:
    """None when Fargate offers `cpu` with `memory_mib`, else what it offers instead."""
    if cpu not in FARGATE_TASK_SIZES:
        return f"Fargate offers cpu {', '.join(str(c) for c in FARGATE_TASK_SIZES)} (units of 1/1024 vCPU)"
    if memory_mib not in FARGATE_TASK_SIZES[cpu]:
        return (
            f"Fargate does not offer {memory_mib} MiB ({_gib(memory_mib)}) with cpu {cpu}; "
            f"valid pairs (cpu: memory MiB): {describe_sizes()}"
        )
    return None
