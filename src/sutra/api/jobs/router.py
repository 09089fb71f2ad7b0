"""The bulk-ingest endpoints: POST /learn/jobs, GET /learn/jobs/{job_id}, and
POST /learn/jobs/{job_id}/cancel."""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from sutra.api.deps import JobsDep
from sutra.api.jobs import spool
from sutra.api.jobs.models import MAX_ERRORS, JobAccepted, JobRecord, JobReport, report
from sutra.common.http import ErrorBody, ServiceError

router = APIRouter(tags=["learning"])


def job_routes(max_upload_bytes: int) -> list[BaseRoute]:
    """The routes of `router`, for `sutra.common.routing.serve_routers`, the upload's schema
    stating this app's limit."""
    routes = []
    for route in router.routes:
        if isinstance(route, APIRoute) and route.openapi_extra:
            route = copy.copy(route)  # this app's limit, not another app's
            route.openapi_extra = upload_body(max_upload_bytes)
        routes.append(route)
    return routes


def upload_body(max_bytes: int) -> dict[str, Any]:
    schema = {"type": "string", "maxLength": max_bytes}
    example = '{"content": "Paris is in France."}\n{"content": "France is in Europe."}\n'
    content = {spool.CONTENT_TYPES[0]: {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


_ERRORS = {
    404: "No job has this id (or it finished longer ago than the retention time).",
    413: "The upload is over SUTRA_JOBS_MAX_UPLOAD_BYTES; the message gives the limit.",
    415: "The content type is not NDJSON.",
    429: "Rate limited; retry after the `Retry-After` header's seconds.",
    503: "The job queue (its directory, or Redis) cannot be used now; see `Retry-After`.",
}
_ID = re.compile(r"^[0-9a-f]{32}$")

JobId = Annotated[str, Path(max_length=64, description="the id POST /learn/jobs answered")]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _ERRORS[code]} for code in codes}


@router.post(
    spool.UPLOAD_PATH,
    status_code=202,
    response_model=JobAccepted,
    responses=errors(413, 415, 429, 503),
    summary="Teach many facts: upload NDJSON, learned in the background",
    description="The body is NDJSON (`Content-Type: application/x-ndjson`): one JSON object "
    "per line with the fields of POST /learn's body (`content`, optional `source`, "
    "`metadata`), up to SUTRA_JOBS_MAX_UPLOAD_BYTES (default 64 MiB; the body's maxLength, "
    "in bytes). It is stored before "
    "the 202 is sent; the `Location` header is the job's report. Lines are learned in "
    "batches as POST /learn/batch learns them; a bad line is reported with its line number "
    "and the job goes on; blank lines are skipped. A job survives a restart of the API and "
    "resumes at its last committed batch.",
    openapi_extra=upload_body(64 * 1024 * 1024),  # job_routes sets the limit
)
async def submit_job(request: Request, response: Response, jobs: JobsDep) -> dict[str, Any]:
    job = await jobs.submit(request)
    location = f"{spool.UPLOAD_PATH}/{job.id}"
    response.headers["Location"] = location
    return {
        "id": job.id,
        "state": job.state,
        "lines_total": job.lines_total,
        "bytes": job.bytes,
        "location": location,
    }


async def _known(jobs: JobsDep, job_id: str) -> JobRecord:
    job = await jobs.get(job_id) if _ID.match(job_id) else None
    if job is None:
        raise ServiceError(404, "not_found", f"job {job_id} does not exist", field="job_id")
    return job


@router.get(
    f"{spool.UPLOAD_PATH}/{{job_id}}",
    response_model=JobReport,
    responses=errors(404, 429, 503),
    summary="A bulk-ingest job's state, counts, rate and line errors",
    description=f"`errors` keeps the first {MAX_ERRORS} line errors; `errors_total` counts "
    "all. With Redis every API pod answers for every job; without, only the pod that took "
    "the upload knows it.",
)
async def get_job(job_id: JobId, jobs: JobsDep) -> JobReport:
    return report(await _known(jobs, job_id))


@router.post(
    f"{spool.UPLOAD_PATH}/{{job_id}}/cancel",
    response_model=JobReport,
    responses=errors(404, 429, 503),
    summary="Cancel a queued or running job",
    description="Lines already learned stay learned; the rest of the upload is dropped. "
    "A finished job is reported as it is.",
)
async def cancel_job(job_id: JobId, jobs: JobsDep) -> JobReport:
    await _known(jobs, job_id)
    job = await jobs.cancel(job_id)
    if job is None:
        raise ServiceError(404, "not_found", f"job {job_id} does not exist", field="job_id")
    return report(job)
