"""Every error is JSON in the documented shape, and every response has a request id."""



def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "code": "not_found"}
    assert response["X-Request-Id"]


def test_wrong_method_is_json_405(api):
    response = api.patch("/api/v1/workflows", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"error": 'Method "PATCH" not allowed.', "code": "method_not_allowed"}


def test_a_malformed_workflow_id_is_404_not_500(api):
    response = api.get("/api/v1/workflows/not-a-uuid")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_request_id_is_echoed_when_sane_and_made_otherwise(api):
    assert api.get("/api/v1/workflows", HTTP_X_REQUEST_ID="client-req-12345")[
        "X-Request-Id"] == "client-req-12345"
    made = api.get("/api/v1/workflows", HTTP_X_REQUEST_ID="<script>")["X-Request-Id"]
    assert made != "<script>" and len(made) == 32


def test_an_unexpected_crash_is_a_json_500_without_a_trace(api, monkeypatch):
    from graph import selectors

    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "workflow_list", boom)
    api.raise_request_exception = False
    response = api.get("/api/v1/workflows")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "secret" not in response.content.decode()


def test_openapi_schema_and_docs_page(api, client):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/v1/workflows", "/api/v1/workflows/{workflow_id}",
                 "/api/v1/workflows/lint", "/api/v1/nodes"):
        assert path in paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"redoc" in docs.content.lower()


def test_livez(client):
    assert client.get("/livez").json() == {"status": "ok"}


def test_admin_login_page_renders(client):
    assert client.get("/admin/login/").status_code == 200
