"""The fields of genba's logging convention and the namespace of the metrics made from them.

Public through ``genba_constructs.service_log_group``.
"""

LOG_METRICS_NAMESPACE = "genba/Logs"

# The fields of genba's logging convention, read by metric filters and saved queries.
LEVEL_FIELD = "level"
REQUEST_ID_FIELD = "request_id"
DURATION_FIELD = "duration_ms"
