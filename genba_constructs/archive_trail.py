"""CloudTrail into the log archive: every region, validated log files, KMS.

Where the organization already runs an organization trail, a second trail only doubles
the cost: the stack leaves this construct out (``logging.cloudtrail_enabled: false``).
"""

from __future__ import annotations

import re
from typing import Any

import jsii
from aws_cdk import Aws, IStableAnyProducer, Lazy, RemovalPolicy, Stack
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import archive_catalog as catalog
from genba_constructs._names import claim_name
from genba_constructs._policies import add_or_warn, service_statement
from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError, is_unresolved
from genba_constructs.alarms import AlarmFactory, AlarmSet
from genba_constructs.log_archive import LogArchive
from genba_constructs.nag import acknowledge
from genba_constructs.tampering_alarms import TamperingAlarms


class ArchiveTrail(Construct):
    """A multi-region CloudTrail trail writing to a :class:`LogArchive` bucket.

    Its records land under ``cloudtrail/AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/``,
    where the archive's ``cloudtrail`` Glue table (partition projection) finds them.

    :param archive: the log archive (bucket and KMS key). On an imported bucket or key CDK cannot add
        CloudTrail's statements: synth warns with each statement the owner must add.
    :param trail_name: name of the trail. Default: ``<stack name>-trail``.
    :param include_global_service_events: record IAM, STS and other global services. Default: True
        (and it must be: CloudTrail refuses a multi-region trail without them).
    :param alarm_factory: makes the ``cloudtrail-tampered`` and ``archive-key-disabled`` alarms
        (:class:`~genba_constructs.tampering_alarms.TamperingAlarms`). Default: none, no alarms.
    :param removal_policy: for the tampering events queues. Default: RETAIN.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        archive: LogArchive,
        trail_name: str | None = None,
        include_global_service_events: bool = True,
        alarm_factory: AlarmFactory | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        if not include_global_service_events:
            # CloudTrail refuses a multi-region trail without global service events
            # (InvalidParameterCombinationException at deploy); CloudFormation accepts the template.
            raise GenbaPropsError(
                "ArchiveTrail: include_global_service_events=False is refused by CloudTrail for a multi-region "
                "trail (IsMultiRegionTrail requires IncludeGlobalServiceEvents); leave it True"
            )
        super().__init__(scope, id)
        stack = Stack.of(self)
        name = trail_name or f"{stack.stack_name}-trail"
        _check_trail_name(name)
        claim_name(self, "trail name", name, owner="ArchiveTrail")
        trail_arn = f"arn:{Aws.PARTITION}:cloudtrail:{stack.region}:{Aws.ACCOUNT_ID}:trail/{name}"
        key = archive.encryption_key
        from_trail = {"StringEquals": {"aws:SourceArn": trail_arn}}
        trails = f"arn:{Aws.PARTITION}:cloudtrail:*:{Aws.ACCOUNT_ID}:trail/*"
        # (sid, actions, conditions) of what CloudTrail may do with the archive key.
        for sid, actions, conditions in (
            (
                "AllowCloudTrailToEncryptLogs",
                ["kms:GenerateDataKey"],
                {**from_trail, "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}},
            ),
            ("AllowCloudTrailToDescribeKey", ["kms:DescribeKey"], from_trail),
        ):
            statement = service_statement(
                sid=sid, service="cloudtrail", actions=actions, resources=["*"], conditions=conditions
            )
            add_or_warn(self, key, statement, what="the archive key")
        if not isinstance(archive.bucket, s3.Bucket):
            # CDK's Trail adds its bucket statements to a bucket it owns; on an imported one they
            # vanish and CloudFormation fails the trail (InsufficientS3BucketPolicyException).
            warn_cloudtrail_bucket_statements(self, archive.bucket, trail_arn)
        self.trail = cloudtrail.Trail(
            self,
            "Resource",
            trail_name=name,
            bucket=archive.bucket,
            s3_key_prefix=catalog.CLOUDTRAIL_PREFIX,
            encryption_key=key,  # the key whose policy now lets CloudTrail use it
            is_multi_region_trail=True,
            include_global_service_events=include_global_service_events,
            enable_file_validation=True,
            send_to_cloud_watch_logs=False,
        )
        require_trail_source(archive.bucket, trail_arn)
        self.alarms: AlarmSet = AlarmSet([])
        if alarm_factory is not None:
            self.alarms = TamperingAlarms(
                self,
                "Tampering",
                alarm_factory=alarm_factory,
                trail_name=name,
                key_description="the log archive's key",
                removal_policy=removal_policy,
            ).alarms
        acknowledge(
            self.trail,
            "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled",
            "The trail writes to S3 only, by design: CloudTrail is searched in the archive with Athena "
            "(the cloudtrail Glue table and the 'who changed what, when' named query), and the alarms on "
            "trail and key tampering match CloudTrail's management events in EventBridge, which needs "
            "no CloudWatch Logs copy of the trail.",
        )


def warn_cloudtrail_bucket_statements(trail: Construct, bucket: s3.IBucket, trail_arn: str) -> None:
    """The two statements CloudTrail needs on an imported bucket, as warnings (CDK cannot add them)."""
    principal = iam.ServicePrincipal("cloudtrail.amazonaws.com")
    source = {"aws:SourceArn": trail_arn}
    for statement in (
        iam.PolicyStatement(
            sid="AWSCloudTrailAclCheck",
            principals=[principal],
            actions=["s3:GetBucketAcl"],
            resources=[bucket.bucket_arn],
            conditions={"StringEquals": source},
        ),
        iam.PolicyStatement(
            sid="AWSCloudTrailWrite",
            principals=[principal],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{catalog.CLOUDTRAIL_PREFIX}/AWSLogs/{Aws.ACCOUNT_ID}/*")],
            conditions={"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
    ):
        add_or_warn(trail, bucket, statement, what="the archive bucket")


def _check_trail_name(name: str) -> None:
    # CreateTrail's Name: 3-128 characters, letters, digits, '.', '_' and '-', beginning and ending
    # with a letter or digit, no '..', '._', '_.', '-_' or '_-' (CloudFormation accepts the template).
    if is_unresolved(name):
        return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]", name) or re.search(
        r"\.\.|\._|_\.|-_|_-|\.-|-\.", name
    ):
        raise GenbaPropsError(
            f"ArchiveTrail: trail_name={name!r} must be 3-128 letters, digits, '.', '_' or '-', "
            "beginning and ending with a letter or digit"
        )


@jsii.implements(IStableAnyProducer)
class _TrailSourceDocument:
    """The bucket policy document with ``aws:SourceArn`` added to CloudTrail's statements."""

    def __init__(self, stack: Stack, document: iam.PolicyDocument, trail_arn: str) -> None:
        self._stack, self._document, self._trail_arn = stack, document, trail_arn

    def produce(self) -> Any:
        rendered = self._stack.resolve(self._document)
        for statement in rendered.get("Statement", []):
            principal = statement.get("Principal", {})
            if isinstance(principal, dict) and principal.get("Service") == "cloudtrail.amazonaws.com":
                equals = statement.setdefault("Condition", {}).setdefault("StringEquals", {})
                equals.setdefault("aws:SourceArn", self._trail_arn)
        return rendered


def require_trail_source(bucket: s3.IBucket, trail_arn: str) -> None:
    """Bind the bucket policy statements ``cloudtrail.Trail`` adds to this one trail (confused deputy).

    aws-cdk-lib adds ``s3:GetBucketAcl`` and ``s3:PutObject`` for ``cloudtrail.amazonaws.com``
    with no ``aws:SourceArn`` (it adds one only for organization trails); CloudTrail's bucket
    policy guidance asks for it. The document is rewritten as it renders, so statements added
    later keep theirs. A bucket from another stack has no policy here: its owner's applies.
    """
    policy = bucket.policy
    if policy is None:
        return
    cfn = policy.node.default_child
    if isinstance(cfn, s3.CfnBucketPolicy):
        cfn.policy_document = Lazy.any(_TrailSourceDocument(Stack.of(policy), policy.document, trail_arn))
