"""Twilio's webhooks under /twilio/ (every one signature-checked)."""

from fastapi import APIRouter

router = APIRouter(prefix="/twilio")
