"""What every genba Lambda function runs on: one Python runtime, Powertools, genba's shared layer.

No Docker is needed at synth: Powertools comes from its public layer (ARN built from the
stack's own region), and genba's shared code (the logging convention) is a small layer
asset from ``lambda/_shared``.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from genba_constructs.handler_code import handler_code

PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64

# Powertools for AWS Lambda (Python) v3 public layer, published by AWS in every commercial
# region under account 017000801446. Pinned: a deploy must be reproducible.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_VERSION = 27

# Environment variables Powertools reads; set by every genba function.
POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"


def powertools_layer_arn(version: int = POWERTOOLS_LAYER_VERSION) -> str:
    python = PYTHON_RUNTIME.name.replace(".", "")  # python3.13 -> python313
    arch = ARCHITECTURE.name  # arm64 or x86_64, as the layer names spell them
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{arch}:{version}"
    )


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The Powertools layer, one reference per stack."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("GenbaPowertoolsLayer")
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    return lambda_.LayerVersion.from_layer_version_arn(stack, "GenbaPowertoolsLayer", powertools_layer_arn())


def shared_code_layer(scope: Construct) -> lambda_.ILayerVersion:
    """genba's shared handler code (``genba_logging``), one layer per stack."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("GenbaSharedCodeLayer")
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    return lambda_.LayerVersion(
        stack,
        "GenbaSharedCodeLayer",
        code=handler_code("_shared"),
        compatible_runtimes=[PYTHON_RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="genba shared handler code: the logging convention",
    )


def handler_layers(scope: Construct) -> list[lambda_.ILayerVersion]:
    """The layers every genba function uses: Powertools, then genba's shared code."""
    return [powertools_layer(scope), shared_code_layer(scope)]
