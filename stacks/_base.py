"""The one rule every genba stack follows: its name, description and protection come from its environment."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from stacks.config import EnvironmentConfig


class GenbaStack(Stack):
    """A stack of one environment's baseline, named ``genba-<env>-<concern>``.

    :param concern: the construct id, and the last part of the stack's name (``logging``,
        ``search``, ...): a stack's name and its id never disagree.
    :param config: the environment; production stacks are protected from deletion.
    """

    def __init__(self, scope: Construct, concern: str, *, config: EnvironmentConfig) -> None:
        super().__init__(
            scope,
            concern,
            stack_name=f"{config.stack_prefix}-{concern}",
            description=f"genba {concern} baseline for the {config.name} environment",
            termination_protection=config.production,
        )
