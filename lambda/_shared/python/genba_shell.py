"""The Powertools shell every genba batch handler wears, written once.

A handler module makes one :func:`batch_shell` at import (module-level, reused by every
invocation of the execution environment) and keeps its parts as module names (``logger``,
``metrics``, ``tracer``, ``processor``) for the simulator and tests::

    shell = batch_shell(EventType.SQS, namespace=NAMESPACE)
    logger, metrics, tracer, processor = shell.logger, shell.metrics, shell.tracer, shell.processor

    @shell.entry
    def handler(event, context, runtime=None): ...

``entry`` flushes metrics, puts the Lambda context on every log line and traces, in that
order (outermost first); ``respond`` is the partial batch response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from genba_logging import get_logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class BatchShell:
    """A batch handler's logger, metrics, tracer and batch processor."""

    logger: Logger
    metrics: Metrics
    tracer: Tracer
    processor: BatchProcessor

    def entry(self, handler: Handler) -> Handler:
        """The handler, with metrics flushed, the Lambda context logged and the invocation traced."""
        # Never the event itself, whatever POWERTOOLS_LOGGER_LOG_EVENT says: a stream record's images
        # and a message's body hold personal data, which masking (e-mail, card numbers) cannot all catch.
        wrapped = self.metrics.log_metrics(
            self.logger.inject_lambda_context(self.tracer.capture_lambda_handler(handler), log_event=False)
        )
        return cast(Handler, wrapped)

    def add_metrics(self, triples: Iterable[tuple[str, Any, float]]) -> None:
        """Add each (name, unit, value) a pure core returned."""
        for name, unit, value in triples:
            self.metrics.add_metric(name=name, unit=unit, value=value)

    def respond(
        self, event: dict[str, Any], record_handler: Callable[[Any], None], context: LambdaContext
    ) -> PartialItemFailureResponse:
        """The partial batch response: the records ``record_handler`` raised for are delivered again."""
        return process_partial_response(
            event=event, record_handler=record_handler, processor=self.processor, context=context
        )


def batch_shell(event_type: EventType, *, namespace: str) -> BatchShell:
    """The shell of a handler of ``event_type`` batches that publishes metrics under ``namespace``.

    A failed record is part of a successful invocation (partial batch response), so an entire
    failed batch is reported, not raised: Lambda retries what failed either way.
    """
    return BatchShell(
        logger=get_logger(),
        metrics=Metrics(namespace=namespace),
        tracer=Tracer(),
        processor=BatchProcessor(event_type=event_type, raise_on_entire_batch_failure=False),
    )
