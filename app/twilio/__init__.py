"""Twilio's side of the line: webhook checks, the webhooks themselves, and the REST client."""
