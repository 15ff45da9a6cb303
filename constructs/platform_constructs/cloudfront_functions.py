"""CloudFront Functions: one made from a JavaScript file, and its association as a viewer-request function.

A CloudFront Function runs at every edge location on the cloudfront-js-2.0 runtime: no modules,
no network, no timers, at most 10 KB of code. CloudFront only refuses a larger file when the stack
deploys, so `cloudfront_function` refuses it at synthesis, naming the file.

`cloudfront_function` creates the function in the scope it is given under the id it is given, with
no construct level of its own: its logical ID and path are those of a `cloudfront.Function` made
in place.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

#: CloudFront Functions: at most 10 KB of code.
MAX_FUNCTION_BYTES = 10 * 1024


def cloudfront_function(scope: Construct, construct_id: str, *, code_file: Path, comment: str) -> cloudfront.Function:
    """The function in `code_file` on cloudfront-js-2.0, published on every deploy (LIVE is what runs)."""
    size = code_file.stat().st_size
    if size > MAX_FUNCTION_BYTES:
        raise ValueError(f"{code_file.name}: {size} bytes; a CloudFront Function holds at most {MAX_FUNCTION_BYTES}")
    return cloudfront.Function(
        scope,
        construct_id,
        code=cloudfront.FunctionCode.from_file(file_path=str(code_file)),
        runtime=cloudfront.FunctionRuntime.JS_2_0,
        comment=comment,
        auto_publish=True,
    )


def on_viewer_request(function: cloudfront.IFunction | None) -> list[cloudfront.FunctionAssociation] | None:
    """A behaviour's associations: `function` on viewer requests, or none (`None`, as a behaviour without one)."""
    if function is None:
        return None
    return [cloudfront.FunctionAssociation(function=function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)]
