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


def test_serve_with_port_alone_serves_and_posts_to_that_port(monkeypatch):
    """`coachline serve --port 8102` without PORT: the app it starts (read from the
    environment) and the simulator's URL both use 8102."""
    import uvicorn
    from typer.testing import CliRunner

    from app import cli

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    # Recorded first, so that the PORT `serve` sets is undone after the test.
    monkeypatch.setenv("PORT", "8000")
    monkeypatch.delenv("PORT")
    started: dict[str, object] = {}

    def run(target: str, host: str, port: int) -> None:
        started.update(port=port, url=Settings(_env_file=None).public_base_url)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(cli, "_demo_practice", lambda host, port: None)
    result = CliRunner().invoke(cli.cli, ["serve", "--port", "8102"])
    assert result.exit_code == 0, result.output
    assert started == {"port": 8102, "url": "http://127.0.0.1:8102"}
