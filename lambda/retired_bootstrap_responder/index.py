"""Answers SUCCESS to every request for the retired database bootstrap custom resource, and does nothing else.

The database bootstrap used to be a custom resource whose service token was its own function, which
answered CloudFormation at the request's pre-signed ``ResponseURL``. It now answers through
aws-cdk-lib's provider framework, under a new logical ID (CloudFormation refuses to change a custom
resource's service token). This function keeps the old function's logical ID, so that a request still
addressed to the old resource is answered at once instead of waiting out the resource's timeout. The
old resource's DeletionPolicy is Retain, so CloudFormation normally drops it from the stack without a
Delete request; this is the answer for any request that does arrive (a stack whose deployed template
lacks the Retain, a request CloudFormation sends again). It never connects to the database: the
databases and roles belong to the new resource.

Remove it, with its security group's HTTPS egress, in the release after every environment has deployed
the new resource.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

#: The physical id the retired resource always had.
PHYSICAL_RESOURCE_ID = "database-bootstrap"
RESPONSE_TIMEOUT_SECONDS = 10

logger = Logger(service="database-bootstrap-responder")
tracer = Tracer(service="database-bootstrap-responder")


class CloudFormationRequest(BaseModel):
    """A raw CloudFormation custom-resource request: where and to which request the answer goes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request_type: Literal["Create", "Update", "Delete"] = Field(alias="RequestType")
    response_url: str = Field(alias="ResponseURL", pattern=r"^https?://")
    stack_id: str = Field(alias="StackId", min_length=1)
    request_id: str = Field(alias="RequestId", min_length=1)
    logical_resource_id: str = Field(alias="LogicalResourceId", min_length=1)
    physical_resource_id: str | None = Field(default=None, alias="PhysicalResourceId")


def success_response(request: CloudFormationRequest) -> dict[str, Any]:
    """The response document: SUCCESS for this request, the resource's physical id unchanged."""
    return {
        "Status": "SUCCESS",
        "Reason": f"{request.request_type} of the retired database bootstrap resource: nothing to do",
        "PhysicalResourceId": request.physical_resource_id or PHYSICAL_RESOURCE_ID,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "NoEcho": False,
        "Data": {},
    }


def answer(request: CloudFormationRequest, opener: urllib.request.OpenerDirector) -> dict[str, Any]:
    """PUT SUCCESS to the pre-signed ``ResponseURL`` (empty Content-Type, as S3 expects) and return it."""
    document = success_response(request)
    body = json.dumps(document).encode()
    http_request = urllib.request.Request(
        request.response_url,
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with opener.open(http_request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
        response.read()
    return document


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A request without a place to answer raises (there is nobody to tell); every other one gets SUCCESS."""
    request = CloudFormationRequest.model_validate(event)
    document = answer(request, urllib.request.build_opener())
    logger.info("answered", extra={"request_type": request.request_type, "status": document["Status"]})
    return document
