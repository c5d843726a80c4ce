"""Twilio's webhooks under /twilio/ (every one signature-checked)."""

from fastapi import APIRouter

from app.twilio import voice

router = APIRouter()
router.include_router(voice.router)
