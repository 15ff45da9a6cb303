"""cloudfront_function and on_viewer_request: the runtime, publishing, the size limit, the association."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack, assertions, aws_cloudfront as cloudfront

from platform_constructs.cloudfront_functions import MAX_FUNCTION_BYTES, cloudfront_function, on_viewer_request

HANDLER = "function handler(event) { return event.request; }\n"


def test_a_function_runs_on_js_2_and_is_published_under_the_given_id(tmp_path: Path) -> None:
    code = tmp_path / "routing.js"
    code.write_text(HANDLER, encoding="utf-8")
    stack = Stack(App(), "Edge")
    function = cloudfront_function(stack, "Routing", code_file=code, comment="routes")
    assert function.node.path == "Edge/Routing"  # no construct level of its own
    (properties,) = assertions.Template.from_stack(stack).find_resources("AWS::CloudFront::Function").values()
    assert properties["Properties"]["FunctionConfig"] == {"Comment": "routes", "Runtime": "cloudfront-js-2.0"}
    assert properties["Properties"]["AutoPublish"] is True
    assert properties["Properties"]["FunctionCode"] == HANDLER


def test_a_function_over_10_kb_is_refused_at_synthesis_naming_its_file(tmp_path: Path) -> None:
    code = tmp_path / "big.js"
    code.write_text(HANDLER + "//" + "x" * MAX_FUNCTION_BYTES, encoding="utf-8")
    with pytest.raises(ValueError, match=r"big\.js: \d+ bytes; a CloudFront Function holds at most 10240"):
        cloudfront_function(Stack(App(), "Edge"), "Big", code_file=code, comment="too big")


def test_a_function_is_associated_on_viewer_requests_and_none_with_none(tmp_path: Path) -> None:
    code = tmp_path / "routing.js"
    code.write_text(HANDLER, encoding="utf-8")
    function = cloudfront_function(Stack(App(), "Edge"), "Routing", code_file=code, comment="routes")
    (association,) = on_viewer_request(function) or []
    assert association.event_type == cloudfront.FunctionEventType.VIEWER_REQUEST
    assert association.function is function
    assert on_viewer_request(None) is None
