"""CSV template, import jobs and their progress."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLInputObjectType
from graphql.utilities import coerce_input_value
from graphql.utilities.validate_input_value import validate_input_value
from starlette.datastructures import UploadFile
from strawberry import Info
from strawberry.file_uploads import Upload
from strawberry.types.arguments import convert_argument

from models.credential_filter import CredentialFilter
from models.import_job import ErrorPolicy, ImportJob, ImportRowResult, ImportStatus
from resolvers.context import RequestContext
from resolvers.csv_io import resolve_import, resolve_job, resolve_results, watch_job
from schema.credential_queries import CredentialFilterInput
from schema.ids import key_of
from services.csv_io.engine import ImportOptions
from services.csv_io.errors import ImportErrorCode
from services.csv_io.export import template_csv
from services.errors import DomainError

ImportStatusEnum = strawberry.enum(ImportStatus, name="ImportStatus")
ErrorPolicyEnum = strawberry.enum(
    ErrorPolicy,
    name="ImportErrorPolicy",
    description="REJECT_EVERYTHING imports nothing unless every row is fine; "
    "SKIP_FAILED_ROWS imports the rows that are.",
)
ImportErrorCodeEnum = strawberry.enum(
    ImportErrorCode, name="ImportErrorCode", description="What is wrong with a file or row."
)
MAX_RESULTS_PAGE = 1000


@strawberry.type(description="One problem of one row of an imported file (row 1: the header).")
class ImportRowResultType:
    row_number: int
    column: str | None
    code: str = strawberry.field(description="An ImportErrorCode value.")
    message: str

    @classmethod
    def from_model(cls, model: ImportRowResult) -> ImportRowResultType:
        return cls(
            row_number=model.row_number,
            column=model.column,
            code=model.code,
            message=model.message,
        )


@strawberry.type(name="ImportJob")
class ImportJobType:
    id: strawberry.ID
    key: strawberry.Private[int]
    file_name: str
    status: ImportStatusEnum  # type: ignore[valid-type]
    dry_run: bool
    approve_all: bool
    error_policy: ErrorPolicyEnum  # type: ignore[valid-type]
    rows_read: int = strawberry.field(description="Data rows read so far.")
    bytes_read: int
    bytes_total: int
    created_count: int = strawberry.field(description="New credentials (would be, dry run).")
    versioned_count: int = strawberry.field(description="New versions of credentials.")
    unchanged_count: int = strawberry.field(description="Rows equal to the latest version.")
    failed_count: int = strawberry.field(description="Rows with problems.")
    results_truncated: bool = strawberry.field(
        description="More problems were found than are stored (the first 10,000 are)."
    )
    created_at: datetime
    finished_at: datetime | None

    @strawberry.field(description="The problems found, in row order.")
    async def results(
        self, info: Info[RequestContext, None], first: int = 100
    ) -> list[ImportRowResultType]:
        first = max(0, min(first, MAX_RESULTS_PAGE))
        return [
            ImportRowResultType.from_model(r) for r in await resolve_results(info, self.key, first)
        ]

    @classmethod
    def from_model(cls, job: ImportJob) -> ImportJobType:
        return cls(
            id=strawberry.ID(str(strawberry.relay.GlobalID("ImportJob", str(job.id)))),
            key=job.id,
            file_name=job.file_name,
            status=job.status,
            dry_run=job.dry_run,
            approve_all=job.approve_all,
            error_policy=job.error_policy,
            rows_read=job.rows_read,
            bytes_read=job.bytes_read,
            bytes_total=job.bytes_total,
            created_count=job.created_count,
            versioned_count=job.versioned_count,
            unchanged_count=job.unchanged_count,
            failed_count=job.failed_count,
            results_truncated=job.results_truncated,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


@strawberry.type
class ImportProblem:
    code: ImportErrorCodeEnum  # type: ignore[valid-type]
    field: str | None
    message: str


@strawberry.type
class ImportCredentialsPayload:
    job: ImportJobType | None = None
    errors: list[ImportProblem] = strawberry.field(default_factory=list)


@strawberry.type
class CsvQueries:
    @strawberry.field(
        description="The CSV import template: the header row and an example row (also at "
        "GET /credentials/template.csv)."
    )
    def credential_csv_template(self) -> str:
        return template_csv()

    @strawberry.field(description="An import job you started; null otherwise.")
    async def import_job(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> ImportJobType | None:
        job = await resolve_job(info, key_of(id, "ImportJob"))
        return ImportJobType.from_model(job) if job is not None else None


@strawberry.type
class CsvMutations:
    @strawberry.mutation(
        description="Imports credentials from a CSV file (see credentialCsvTemplate) and "
        "returns the job: finished for files up to 1 MB, else running (follow it with "
        "importJobProgress). A dry run checks and reports without writing."
    )
    async def import_credentials(
        self,
        info: Info[RequestContext, None],
        file: Upload,
        dry_run: bool = True,
        approve_all: bool = False,
        error_policy: ErrorPolicyEnum = ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
    ) -> ImportCredentialsPayload:
        options = ImportOptions(dry_run, approve_all, ErrorPolicy(error_policy))
        try:
            if not isinstance(file, UploadFile):  # a literal in the document, not a file part
                raise DomainError(
                    ImportErrorCode.FILE_REQUIRED,
                    "Send the file as a part of a GraphQL multipart request.",
                    "file",
                )
            job = await resolve_import(info, file.filename or "", file.file, options)
        except DomainError as error:
            info.context.error_codes.append(str(error.code.value))
            return ImportCredentialsPayload(
                errors=[ImportProblem(code=error.code, field=error.field, message=error.message)]
            )
        return ImportCredentialsPayload(job=ImportJobType.from_model(job))


@strawberry.type
class ImportSubscriptions:
    @strawberry.subscription(
        description="An import job you started: now, after each batch while it runs, and "
        "finally its finished state."
    )
    async def import_job_progress(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> AsyncGenerator[ImportJobType, None]:
        async for job in watch_job(info, key_of(id, "ImportJob")):
            yield ImportJobType.from_model(job)


def credential_filter_from_json(schema: strawberry.Schema, text: str | None) -> CredentialFilter:
    """The filter of a `credentials` query, given as the JSON of its CredentialFilterInput
    (GET /credentials/export.csv?filter=..., `export-csv --filter`): coerced by the schema,
    so every filter the query takes works here too. ValueError says what is wrong."""
    if not text:
        return CredentialFilterInput().to_filter()
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"filter is not JSON: {error}") from None
    graphql_type = schema._schema.get_type("CredentialFilterInput")
    assert isinstance(graphql_type, GraphQLInputObjectType)
    problems: list[str] = []

    def on_error(error: Any, path: Any) -> None:
        problems.append(str(getattr(error, "message", error)))

    validate_input_value(raw, graphql_type, on_error, hide_suggestions=True)
    if problems:
        raise ValueError("; ".join(problems))
    coerced = coerce_input_value(raw, graphql_type)
    converted = convert_argument(
        coerced, CredentialFilterInput, schema.schema_converter.scalar_registry, schema.config
    )
    assert isinstance(converted, CredentialFilterInput)
    return converted.to_filter()
