import pytest


@pytest.mark.django_db(databases=["default", "owner"])
def test_healthz_reports_database_and_pgvector(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["pgvector"].startswith("0.8")
