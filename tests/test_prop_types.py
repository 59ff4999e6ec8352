"""@checked: a wrong type given to a public constructor or method is one line naming owner, prop and value."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from genba_constructs import GenbaPropsError
from genba_constructs._types import checked, matches, register_coercion


class Wrapper:
    def __init__(self, group: logs.ILogGroup) -> None:
        self.log_group = group


register_coercion(Wrapper, logs.ILogGroup, lambda w: w.log_group)


class Thing:
    @checked
    def __init__(
        self,
        *,
        log_group: logs.ILogGroup,
        period: Duration = Duration.minutes(5),
        names: Sequence[str] = (),
        key: kms.IKey | None = None,
        percent: float = 80.0,
    ) -> None:
        self.log_group = log_group
        self.period = period


def test_imported_and_own_resources_match_their_jsii_interfaces(fresh_stack: Stack) -> None:
    own = logs.LogGroup(fresh_stack, "Own")
    imported = logs.LogGroup.from_log_group_name(fresh_stack, "Imported", "team-logs")
    key = kms.Key.from_key_arn(fresh_stack, "Key", "arn:aws:kms:ap-northeast-1:123456789012:key/abc")
    assert matches(own, logs.ILogGroup) and matches(imported, logs.ILogGroup)
    assert matches(key, kms.IKey) and not matches(key, kms.Key)
    assert not matches(own, s3.IBucket) and not matches("team-logs", logs.ILogGroup)


def test_right_types_pass_and_ints_are_floats(fresh_stack: Stack) -> None:
    group = logs.LogGroup(fresh_stack, "G")
    assert Thing(log_group=group, percent=75, names=["a"]).log_group is group


def test_a_genba_wrapper_stands_in_for_what_it_wraps(fresh_stack: Stack) -> None:
    group = logs.LogGroup(fresh_stack, "G")
    assert Thing(log_group=Wrapper(group)).log_group is group


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"log_group": "team-logs"}, "Thing: log_group='team-logs' must be aws_cdk.aws_logs.ILogGroup"),
        ({"period": "5m"}, "Thing: period='5m' must be aws_cdk.Duration"),
        ({"names": "abc"}, "Thing: names='abc' must be a sequence of str"),
        ({"names": ["a", 1]}, "Thing: names=['a', 1] must be a sequence of str"),
        ({"percent": True}, "Thing: percent=True must be float"),
        ({"key": "alias/x"}, "Thing: key='alias/x' must be aws_cdk.aws_kms.IKey or None"),
        ({"colour": "red"}, "Thing: got an unexpected keyword argument 'colour'"),
    ],
)
def test_fails_wrong_types_with_one_line(fresh_stack: Stack, props: dict[str, object], message: str) -> None:
    given = {"log_group": logs.LogGroup(fresh_stack, "G"), **props}
    with pytest.raises(GenbaPropsError) as raised:
        Thing(**given)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_fails_a_missing_required_prop_with_one_line() -> None:
    with pytest.raises(GenbaPropsError, match=r"^Thing: missing a required argument: 'log_group'$"):
        Thing()  # type: ignore[call-arg]
