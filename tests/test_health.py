from app.main import create_app
from app.settings import Settings


def test_healthz_reports_database_up(http):
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


def test_healthz_reports_database_down_and_service_still_starts():
    settings = Settings(_env_file=None, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as http:
        response = http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_openapi_docs_are_served(http, admin):
    # for an API token or a signed-in user (tests/test_sign_in_limits.py)
    assert http.get("/docs", headers=admin).status_code == 200
    assert "/healthz" in http.get("/openapi.json", headers=admin).json()["paths"]
