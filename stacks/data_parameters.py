"""The contract between the data stack and the services: SSM parameter names.

The data stack writes its endpoints (and, per service, the ARN of the policy its task role attaches)
to SSM Parameter Store under `/ticketing/<env>/data/`; no secret is handed to the services.
Consumers resolve them at deploy time (`{{resolve:ssm:...}}`-style CloudFormation parameters), not
through CloudFormation exports, so the data stack can change an endpoint without first removing
every importing stack (export lock-in), and the services stack can be deployed, destroyed and
redeployed on its own.

The names themselves are spelled in `platform_constructs.physical_names` (with every other physical
name), which is where the services' side, the monitoring stack and the tests import them from; this
module keeps the data stack's former import working until that stack imports them from there too.
"""

from __future__ import annotations

from platform_constructs.physical_names import (
    SERVICE_ACCESS_POLICY,
    DataParameter,
    data_parameter_name as parameter_name,
    service_data_parameter_name as service_parameter_name,
)

__all__ = ["SERVICE_ACCESS_POLICY", "DataParameter", "parameter_name", "service_parameter_name"]
