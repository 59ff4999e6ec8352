"""genba's synth gates: cdk-nag 3's packs and cfn-lint as validation plugins, and narrow acknowledgements."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError

# The plugin name each rule id starts with, as cdk-nag 3 prints it in "Acknowledge with ...".
_PACKS = {"AwsSolutions-": "AwsSolutions", "Serverless-": "Serverless", "NIST.800.53.R5-": "NIST.800.53.R5"}


@checked
def add_nag_packs(scope: IConstruct, *, cfn_lint: bool = True) -> None:
    """Run the AwsSolutions, Serverless and NIST 800-53 R5 packs, and cfn-lint, on every synth of ``scope``.

    :param cfn_lint: also lint every template with cfn-lint (genba_constructs.cfn_lint), so that
        ``cdk synth``, ``cdk deploy`` and plain-Python synths run the same gates. Default: true.
    """
    for pack in (AwsSolutionsChecks(scope), ServerlessChecks(scope), NIST80053R5Checks(scope)):
        Validations.of(scope).add_plugins(pack)
    if cfn_lint:
        from genba_constructs.cfn_lint import CfnLintChecks

        Validations.of(scope).add_plugins(CfnLintChecks())


@checked
def acknowledge(construct: IConstruct, rule: str, reason: str, *, finding: str | None = None) -> None:
    """Acknowledge one cdk-nag finding on one construct (and its children), with the reason.

    :param rule: the rule id, e.g. ``AwsSolutions-IAM5``.
    :param finding: the finding within the rule, e.g. ``Resource::arn:aws:logs:*``. Default:
        the whole rule on this construct (use only when the rule has no finding ids).
    """
    pack = next((name for prefix, name in _PACKS.items() if rule.startswith(prefix)), None)
    if pack is None:
        raise GenbaPropsError(f"acknowledge: rule={rule!r} belongs to none of {sorted(_PACKS.values())}")
    if len(reason.strip()) < 20:
        raise GenbaPropsError(f"acknowledge: reason={reason!r} for {rule} is too short to explain anything")
    if finding is not None and (not finding or not _balanced(finding)):
        raise GenbaPropsError(f"acknowledge: finding={finding!r} for {rule} must be a finding id with balanced [ ]")
    ack_id = f"{pack}::{rule}" + (f"[{finding}]" if finding else "")
    Validations.of(construct).acknowledge(Acknowledgment(id=ack_id, reason=reason))


def _balanced(finding: str) -> bool:
    # CDK parses "<pack>::<rule>[<finding>]": a stray bracket in the finding is a jsii error.
    depth = 0
    for char in finding:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
