"""boto3 clients with the operator's credentials; tests hand in fakes for single services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3


class Clients:
    """One boto3 client per service, made on first use.

    Region and profile come from the usual AWS environment variables (AWS_PROFILE,
    AWS_REGION / AWS_DEFAULT_REGION); ``endpoint_url`` (or AWS_ENDPOINT_URL, which botocore
    reads itself) points every client at a test server. ``overrides`` replaces single
    services (tests use it where moto lacks an API).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self._session = boto3.Session(region_name=region) if region else boto3.Session()
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = dict(overrides or {})

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]
