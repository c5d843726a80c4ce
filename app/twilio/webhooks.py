"""Twilio's webhooks under /twilio/ (every one signature-checked)."""

from fastapi import APIRouter

from app.twilio import callbacks, sms, voice

router = APIRouter()
router.include_router(voice.router)
router.include_router(sms.router)
router.include_router(callbacks.router)
