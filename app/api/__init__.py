"""The admin REST API: JSON, bearer tokens, documented at /docs."""

from fastapi import APIRouter

router = APIRouter(prefix="/api")
