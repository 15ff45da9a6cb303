"""The parts of the monitoring stack (`stacks/monitoring_stack.py`), one concern each.

- `watched`: the identifiers of what is watched (names fixed by config, or read from SSM).
- `load_balancer`, `bookings`, `services`, `database`, `cache`, `backups`, `maintenance`: each tier's
  alarms as `AlarmSpec`s, plain data built from config and those identifiers.
- `events`: the EventBridge rules that record failures (ECS starts, AWS Backup jobs, rotations) in log
  groups, and the alarms on what they match.
- `catalogue`: every alarm of the monitoring stack, in one list.
- `seats`: the low-available-seats alarm, which the services stack creates beside its scaling targets.
- `dashboard`: the environment's dashboard.

Every construct is created by the stack with the stack as its scope, under the id it has always had:
no intermediate construct, so no logical ID moves.
"""
