"""What the log archive's Glue tables and Athena named queries say, as plain data.

Kept apart from the constructs so that the tests can read the exact columns, partition
projection and SQL the archive deploys (and check them against sample archived lines)
without synthesizing anything.

Layout of the archive bucket (each prefix written by exactly one producer):

* ``logs/log_group=<subject>/dt=<yyyy-MM-dd>/``: application log lines, one JSON object per
  line (genba's logging convention), delivered by Firehose from a log group subscription.
  ``dt`` is the UTC day Firehose received the lines (``!{timestamp:...}``).
* ``errors/log_group=<subject>/<error-output-type>/dt=<yyyy-MM-dd>/``: records Firehose
  could not process or deliver (``!{firehose:error-output-type}``).
* ``cloudtrail/AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/``: CloudTrail.
* ``AWSLogs/<account>/...``: CloudWatch Logs vended deliveries (data protection audit findings).
"""

from __future__ import annotations

from dataclasses import dataclass

LOGS_PREFIX = "logs/"
ERRORS_PREFIX = "errors/"
CLOUDTRAIL_PREFIX = "cloudtrail"
VENDED_LOGS_PREFIX = "AWSLogs/"

# Partition keys of the application-log table, as they appear in S3 keys (Hive style).
LOG_GROUP_KEY = "log_group"
DATE_KEY = "dt"
DATE_FORMAT_JAVA = "yyyy-MM-dd"  # Firehose !{timestamp:...} and Athena projection.dt.format

APPLICATION_LOGS_TABLE = "application_logs"
CLOUDTRAIL_TABLE = "cloudtrail"


def data_prefix(subject: str) -> str:
    """The Firehose ``Prefix`` for one archived log group."""
    return f"{LOGS_PREFIX}{LOG_GROUP_KEY}={subject}/{DATE_KEY}=!{{timestamp:{DATE_FORMAT_JAVA}}}/"


def error_prefix(subject: str) -> str:
    """The Firehose ``ErrorOutputPrefix`` for one archived log group."""
    return (
        f"{ERRORS_PREFIX}{LOG_GROUP_KEY}={subject}/!{{firehose:error-output-type}}/"
        f"{DATE_KEY}=!{{timestamp:{DATE_FORMAT_JAVA}}}/"
    )


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str


# genba's logging convention (README "Logging convention"), plus what Powertools adds.
# Every key genba_logging writes has a column; other keys are ignored by the JSON SerDe.
APPLICATION_LOG_COLUMNS: tuple[Column, ...] = (
    Column("timestamp", "string", "ISO 8601 UTC time of the event; from_iso8601_timestamp() to compare"),
    Column("level", "string", "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    Column("request_id", "string", "correlation id of the request or change (UUID); '-' outside a request"),
    Column("message", "string", "what happened, for a human"),
    Column("duration_ms", "double", "request duration, on request-completion lines"),
    Column("service", "string", "the service that wrote the line"),
    Column("location", "string", "function:line in the code"),
    Column("exception", "string", "formatted exception, on error lines"),
    Column("exception_name", "string", "exception class, on error lines"),
    Column("stack_trace", "string", "structured stack trace (JSON text), on error lines"),
    Column("cold_start", "boolean", "Lambda: first invocation of this execution environment"),
    Column("function_name", "string", "Lambda: function name"),
    Column("function_memory_size", "int", "Lambda: memory in MB"),
    Column("function_arn", "string", "Lambda: function ARN"),
    Column("function_request_id", "string", "Lambda: the invocation's request id"),
    Column("xray_trace_id", "string", "X-Ray trace id"),
    Column("sampling_rate", "double", "Powertools debug sampling rate"),
)

JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


def application_log_parameters(bucket_name: str, subjects: list[str], retention_days: int) -> dict[str, str]:
    """Partition projection of the application-log table: one enum value per archived log group."""
    return {
        "classification": "json",
        "projection.enabled": "true",
        f"projection.{LOG_GROUP_KEY}.type": "enum",
        f"projection.{LOG_GROUP_KEY}.values": ",".join(subjects),
        f"projection.{DATE_KEY}.type": "date",
        f"projection.{DATE_KEY}.format": DATE_FORMAT_JAVA,
        f"projection.{DATE_KEY}.range": f"NOW-{retention_days}DAYS,NOW",
        f"projection.{DATE_KEY}.interval": "1",
        f"projection.{DATE_KEY}.interval.unit": "DAYS",
        "storage.location.template": (
            f"s3://{bucket_name}/{LOGS_PREFIX}{LOG_GROUP_KEY}=${{{LOG_GROUP_KEY}}}/{DATE_KEY}=${{{DATE_KEY}}}/"
        ),
    }


# CloudTrail's record format (CloudTrail User Guide, "CloudTrail record contents"); the
# layout AWS documents for querying CloudTrail logs with Athena and partition projection.
_USER_IDENTITY = (
    "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,"
    "accesskeyid:string,username:string,onbehalfof:struct<userid:string,identitystorearn:string>,"
    "sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,"
    "sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,"
    "sourceidentity:string,ec2roledelivery:string,webidfederationdata:map<string,string>>>"
)
CLOUDTRAIL_COLUMNS: tuple[Column, ...] = (
    Column("eventversion", "string", "record format version"),
    Column("useridentity", _USER_IDENTITY, "who made the request"),
    Column("eventtime", "string", "when (ISO 8601 UTC)"),
    Column("eventsource", "string", "the service (iam.amazonaws.com...)"),
    Column("eventname", "string", "the API action"),
    Column("awsregion", "string", "region of the request"),
    Column("sourceipaddress", "string", "caller's IP address or service"),
    Column("useragent", "string", "caller's agent"),
    Column("errorcode", "string", "error code, if the request failed"),
    Column("errormessage", "string", "error message, if the request failed"),
    Column("requestparameters", "string", "request parameters (JSON text)"),
    Column("responseelements", "string", "response elements (JSON text)"),
    Column("additionaleventdata", "string", "additional data (JSON text)"),
    Column("requestid", "string", "the service's request id"),
    Column("eventid", "string", "unique id of this record"),
    Column("readonly", "string", "'true' for reads, 'false' for changes"),
    Column("resources", "array<struct<arn:string,accountid:string,type:string>>", "resources acted on"),
    Column("eventtype", "string", "AwsApiCall, AwsConsoleSignIn..."),
    Column("apiversion", "string", "API version"),
    Column("recipientaccountid", "string", "account that received the event"),
    Column("serviceeventdetails", "string", "service event details (JSON text)"),
    Column("sharedeventid", "string", "shared event id"),
    Column("vpcendpointid", "string", "VPC endpoint used"),
    Column("tlsdetails", "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>", "TLS"),
)
CLOUDTRAIL_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
CLOUDTRAIL_INPUT_FORMAT = "com.amazon.emr.cloudtrail.CloudTrailInputFormat"

# Regions a multi-region trail can write (enum projection: unknown regions are not scanned).
TRAIL_REGIONS = (
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)
CLOUDTRAIL_DAY_KEY = "day"
CLOUDTRAIL_REGION_KEY = "region"


def cloudtrail_location(bucket_name: str, account: str) -> str:
    return f"s3://{bucket_name}/{CLOUDTRAIL_PREFIX}/AWSLogs/{account}/CloudTrail/"


def cloudtrail_parameters(bucket_name: str, account: str, retention_days: int) -> dict[str, str]:
    return {
        "classification": "cloudtrail",
        "projection.enabled": "true",
        f"projection.{CLOUDTRAIL_REGION_KEY}.type": "enum",
        f"projection.{CLOUDTRAIL_REGION_KEY}.values": ",".join(TRAIL_REGIONS),
        f"projection.{CLOUDTRAIL_DAY_KEY}.type": "date",
        f"projection.{CLOUDTRAIL_DAY_KEY}.format": "yyyy/MM/dd",
        f"projection.{CLOUDTRAIL_DAY_KEY}.range": f"NOW-{retention_days}DAYS,NOW",
        f"projection.{CLOUDTRAIL_DAY_KEY}.interval": "1",
        f"projection.{CLOUDTRAIL_DAY_KEY}.interval.unit": "DAYS",
        "storage.location.template": (
            f"{cloudtrail_location(bucket_name, account)}${{{CLOUDTRAIL_REGION_KEY}}}/${{{CLOUDTRAIL_DAY_KEY}}}/"
        ),
    }


@dataclass(frozen=True)
class NamedQuery:
    construct_id: str
    name: str
    description: str
    sql: str


def named_queries(database: str) -> tuple[NamedQuery, ...]:
    """The Athena named queries: placeholders (ids, days) are literal values to replace."""
    logs = f'"{database}"."{APPLICATION_LOGS_TABLE}"'
    trail = f'"{database}"."{CLOUDTRAIL_TABLE}"'
    return (
        NamedQuery(
            "RequestTraceQuery",
            "every event of one request id in a time range",
            "Replace the request id and the time range; dt (the UTC day the lines arrived) bounds the scan.",
            f"""SELECT "timestamp", {LOG_GROUP_KEY}, level, request_id, message, duration_ms, service, location
FROM {logs}
WHERE request_id = '00000000-0000-0000-0000-000000000000'
  AND {DATE_KEY} BETWEEN '2026-01-01' AND '2026-01-02'
  AND from_iso8601_timestamp("timestamp")
      BETWEEN from_iso8601_timestamp('2026-01-01T00:00:00Z') AND from_iso8601_timestamp('2026-01-02T00:00:00Z')
ORDER BY from_iso8601_timestamp("timestamp")""",  # noqa: S608 (genba constants, no input)
        ),
        NamedQuery(
            "ErrorsPerDayQuery",
            "ERROR lines per day and log group (last 30 days)",
            "ERROR and CRITICAL lines per UTC day and archived log group, newest first.",
            f"""SELECT {DATE_KEY}, {LOG_GROUP_KEY}, count(*) AS errors, count(DISTINCT request_id) AS requests
FROM {logs}
WHERE level IN ('ERROR', 'CRITICAL')
  AND {DATE_KEY} >= date_format(current_date - INTERVAL '30' DAY, '%Y-%m-%d')
GROUP BY {DATE_KEY}, {LOG_GROUP_KEY}
ORDER BY {DATE_KEY} DESC, errors DESC""",  # noqa: S608 (genba constants, no input)
        ),
        NamedQuery(
            "CloudTrailChangesQuery",
            "CloudTrail: who changed what, when (last 7 days)",
            "Every non-read-only API call of the last 7 days: who, what, on which resource, from where.",
            f"""SELECT eventtime, useridentity.arn AS who, useridentity.type AS identity_type,
       eventsource, eventname, awsregion, sourceipaddress, errorcode, requestparameters
FROM {trail}
WHERE readonly = 'false'
  AND {CLOUDTRAIL_DAY_KEY} >= date_format(current_date - INTERVAL '7' DAY, '%Y/%m/%d')
ORDER BY eventtime DESC
LIMIT 1000""",  # noqa: S608 (genba constants, no input)
        ),
    )
