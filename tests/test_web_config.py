"""The `web` config section: the reference service's ALB, target groups and Elastic Beanstalk environment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from genba_constructs import Thresholds, WebTierThresholds
from stacks.config import ConfigError, WebConfig, load_environments
from tests.conftest import cdk_json_context


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return {"genba": cdk_json_context()["genba"]}


def with_web(context: dict[str, Any], env: str, **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(context)
    changed["genba"]["environments"][env]["web"].update(changes)
    return changed


def test_every_environment_configures_its_web_tier(context: dict[str, Any]) -> None:
    for env in load_environments(context):
        assert env.web is not None
        assert env.web.load_balancer.startswith(f"app/genba-{env.name}-web/")
        assert [group.name for group in env.web.target_groups] == ["app"]
        assert env.web.environment_name == f"genba-{env.name}-web"


def test_web_section_builds_the_constructs_thresholds(context: dict[str, Any]) -> None:
    prod = {env.name: env for env in load_environments(context)}["prod"]
    assert prod.web is not None
    thresholds = prod.web.thresholds
    assert isinstance(thresholds, WebTierThresholds)
    assert thresholds.minimum_requests == 100
    assert thresholds.p99_response_time_seconds == Thresholds(warning=0.8, critical=2.0)
    assert thresholds.unhealthy_hosts == Thresholds(warning=1)
    assert list(thresholds.problems()) == []


def test_defaults_match_the_constructs_defaults() -> None:
    """One rule in one place: the section's defaults are WebTierThresholds' defaults."""
    config = WebConfig(load_balancer="app/shop/0123456789abcdef")
    defaults = WebTierThresholds()
    built = config.thresholds
    for name in ("evaluation_periods", "datapoints_to_alarm", "minimum_requests", "elb_5xx_percent"):
        assert getattr(built, name) == getattr(defaults, name)
    assert built.period.to_seconds() == defaults.period.to_seconds()
    assert built.environment_health == defaults.environment_health


BAD_WEB = [
    ("load_balancer", "net/genba-prod/0123456789abcdef", "web.load_balancer: 'net/genba-prod/0123456789abcdef' is not"),
    ("environment_name", "eb", "web.environment_name: 'eb' is not an Elastic Beanstalk environment name"),
    ("elb_5xx_warning_percent", 150, "web.elb_5xx_warning_percent: 150 is out of range"),
    ("minimum_requests", "50", "web.minimum_requests: expected a whole number"),
    ("environment_health_critical", 22, "web.environment_health_critical: 22 is not an EnvironmentHealth value"),
    (
        "target_groups",
        [{"name": "app", "target_group": "targetgroup/x"}],
        "web.target_groups[0].target_group: 'targetgroup/x' is not",
    ),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD_WEB, ids=[key for key, _, _ in BAD_WEB])
def test_fails_bad_web_value_with_its_key_path(context: dict[str, Any], key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_environments(with_web(context, "prod", **{key: value}))
    assert f"genba.environments.prod.{message}" in str(error.value)


def test_fails_warning_above_critical_under_the_config_key(context: dict[str, Any]) -> None:
    """The construct's rule (warning <= critical), reported under the section's own key."""
    with pytest.raises(ConfigError, match=r"prod\.web\.target_5xx_warning_percent: 10(\.0)? is above critical"):
        load_environments(with_web(context, "prod", target_5xx_warning_percent=10, target_5xx_critical_percent=5))


def test_fails_datapoints_above_periods(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"prod\.web\.datapoints_to_alarm: 6 must be at most evaluation_periods"):
        load_environments(with_web(context, "prod", evaluation_periods=5, datapoints_to_alarm=6))


def test_fails_target_group_listed_twice(context: dict[str, Any]) -> None:
    group = {"name": "app", "target_group": "targetgroup/genba-prod-web-app/8f8e7d6c5b4a3921"}
    with pytest.raises(ConfigError, match=r"prod\.web\.target_groups: 'app' is listed twice"):
        load_environments(with_web(context, "prod", target_groups=[group, group]))


def test_web_section_is_optional(context: dict[str, Any]) -> None:
    changed = copy.deepcopy(context)
    del changed["genba"]["environments"]["dev"]["web"]
    dev = load_environments({**changed, "env": "dev"})[0]
    assert dev.web is None
