"""Detection proven offline: CloudWatch alarm semantics evaluated over modelled metric samples.

``evaluator`` reads the alarms of a cloud assembly and computes their state minute by minute as
CloudWatch does; ``metric_math`` is the subset of CloudWatch metric math genba's alarms use.
"""
