"""moto's backends as a WSGI application, through the dispatch ``mock_aws`` uses in-process.

``mock_aws`` answers a botocore request by matching its AWS URL (``https://sqs.us-east-1.amazonaws.com/…``)
against moto's backends (moto.core.botocore_stubber). A request that reached 127.0.0.1 is given back
the AWS host its SigV4 credential scope names, then takes that same path: the same routing and
handlers, the same backends as the in-process pipeline, and no web framework (moto's own server
application needs Flask).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.request import Request

from sagedrop_local.s3_objects import ObjectRange

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
GLOBAL_SERVICES = {"iam", "sts"}  # one endpoint for every region


def signing_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(region, service) of the SigV4 credential scope, from the Authorization header or a presigned URL."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1), match.group(2)
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if credential:
        parts = unquote(credential[0]).split("/")
        if len(parts) == 5:
            return parts[2], parts[3]
    return None


def aws_host(region: str, service: str) -> str:
    """The AWS host a client would have called for this service (the one moto's URL patterns know)."""
    if service == "s3":
        return "s3.amazonaws.com"  # path-style: the bucket is the first path segment
    if service in GLOBAL_SERVICES:
        return f"{service}.amazonaws.com"
    return f"{service}.{region}.amazonaws.com"


class MotoApplication:
    def __init__(self) -> None:
        self._stubber = BotocoreStubber()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        region, service = signing_scope(environ) or ("us-east-1", "s3")  # unsigned: S3, as moto's server
        query = environ.get("QUERY_STRING", "")
        url = f"https://{aws_host(region, service)}{request.raw_path}" + (f"?{query}" if query else "")
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() != "transfer-encoding":  # the WSGI server has de-chunked the body
                headers[name] = value
        answer = self._stubber.process_request(
            AWSPreparedRequest(request.method, url, headers, request.get_data(), stream_output=False)
        )
        if answer is None:
            status, response_headers, body = 404, {}, f"no local service answers {service} in {region}"
        else:
            status, response_headers, body = answer
        out = {str(name): str(value) for name, value in response_headers.items()}
        if isinstance(body, ObjectRange):  # a large object's bytes, sent as they are read
            payload, chunks = body, body.chunks()
        else:
            payload = body.encode() if isinstance(body, str) else bytes(body or b"")
            chunks = [payload]
        if not any(name.lower() == "content-length" for name in out):  # HEAD keeps the object's own
            out["Content-Length"] = str(len(payload))
        start_response(f"{status} {HTTPStatus(int(status)).phrase}", list(out.items()))
        return [] if request.method == "HEAD" else chunks
