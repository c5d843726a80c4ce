"""The admin REST API: JSON, bearer tokens, documented at /docs."""

from fastapi import APIRouter, Depends

from app.api import clients, lockouts, logs, oncall, schedule, therapists
from app.api.deps import domain_errors

# Every route turns the records' refusals (not found, conflict, invalid) into 404/409/422.
router = APIRouter(prefix="/api", dependencies=[Depends(domain_errors)])
for area in (therapists, clients, lockouts, schedule, logs, oncall):
    router.include_router(area.router)
