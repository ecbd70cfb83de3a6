"""One log line and one metric sample per GraphQL operation: name, type, duration, who
asked, and the codes of the errors it answered with."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

logger = logging.getLogger("credentials.graphql")


class OperationObserver(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        duration = time.perf_counter() - started
        execution = self.execution_context
        context = execution.context
        metrics = getattr(context, "metrics", None)
        if metrics is None:
            return
        try:
            operation_type = execution.operation_type.value
        except RuntimeError:  # the document did not parse or names no operation
            operation_type = "unknown"
        result = execution.result
        codes = [
            str((error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR"))
            for error in (getattr(result, "errors", None) or [])
        ] + context.error_codes
        operation = metrics.operation_label(execution.operation_name)
        metrics.operations.labels(operation, operation_type).observe(duration)
        for code in codes:
            metrics.errors.labels(code).inc()
        viewer = context.viewer
        logger.info(
            "graphql operation",
            extra={
                "request_id": context.request_id,
                "operation": operation,
                "operation_type": operation_type,
                "duration_ms": round(duration * 1000, 2),
                "user_id": viewer.user_id if viewer else None,
                "organization_id": viewer.organization_id if viewer else None,
                "error_codes": codes,
            },
        )
