"""`make run` with PORT: the line serves on that port and, unless PUBLIC_BASE_URL says
otherwise, the simulator posts to it (webhook signatures are checked against that URL)."""

from __future__ import annotations

from app.settings import Settings


def test_without_public_base_url_the_line_is_reached_on_its_port(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8101")
    assert Settings(_env_file=None).public_base_url == "http://127.0.0.1:8101"


def test_the_default_port_is_8000(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert Settings(_env_file=None).public_base_url == "http://127.0.0.1:8000"


def test_public_base_url_wins_over_the_port(monkeypatch):
    monkeypatch.setenv("PORT", "8101")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://line.example.org/")
    assert Settings(_env_file=None).public_base_url == "https://line.example.org"


def test_the_dashboards_changes_keep_the_url(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8101")
    changed = Settings(_env_file=None).with_changes({"practice_name": "Gateway DBT"})
    assert (changed.practice_name, changed.public_base_url) == (
        "Gateway DBT",
        "http://127.0.0.1:8101",
    )
