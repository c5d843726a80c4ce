"""Benchmarks of the line's webhooks (see bench/README.md). Not part of the service."""
