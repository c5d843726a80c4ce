"""The admin REST API: JSON, bearer tokens, documented at /docs."""

from fastapi import APIRouter, Depends

from app.api import attention, clients, diary, lockouts, logs, oncall, schedule, therapists
from app.api.deps import domain_errors, refusals

# Every route turns the records' refusals (not found, conflict, invalid) into 404/409/422, and
# every route needs a token and may be given bad input. Each area's router makes its routes
# `ApiRoute`s, which read JSON bodies strictly.
router = APIRouter(
    prefix="/api",
    dependencies=[Depends(domain_errors)],
    responses=refusals(401, 422),
)
for area in (therapists, clients, diary, lockouts, schedule, logs, oncall, attention):
    router.include_router(area.router)
