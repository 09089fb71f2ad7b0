"""What the job routes get through Depends: the app's `Jobs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sutra.api.jobs.service import Jobs


def get_jobs(request: Request) -> Jobs:
    jobs = getattr(request.app.state, "jobs", None)
    if not isinstance(jobs, Jobs):
        raise RuntimeError("the app has no Jobs (sutra.api.app registers them)")
    return jobs


JobsDep = Annotated[Jobs, Depends(get_jobs)]
