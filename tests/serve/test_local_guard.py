"""Who may drive a server (issue 23, item 6).

Without a key, a web page the user visits must not be able to use a local server: a
cross-site form or ``fetch`` (a ``text/plain`` POST, a foreign ``Origin``) and DNS rebinding
(a foreign ``Host`` that resolves to 127.0.0.1) are refused, as Ollama and llama.cpp's
server refuse them. With a key, every path but ``/health`` wants it, the API docs included.
"""

from __future__ import annotations

import httpx
import pytest

from lamstudio.serve import ScriptedEngine

USER = [{"role": "user", "content": "hi"}]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def scripted(tiny_model, start_server):
    def make(**config):
        return start_server(ScriptedEngine(str(tiny_model), ["fine"]), **config)
    return make


def chat(srv, headers=None, content=b'{"messages": [{"role": "user", "content": "hi"}]}'):
    return httpx.post(srv.base_url + "/chat/completions", content=content, timeout=60,
                      headers=headers if headers is not None else JSON)


def get(srv, path, headers=None):
    return httpx.get(srv.base_url.replace("/v1", "") + path, headers=headers or {}, timeout=60)


def code(r) -> str | None:
    return r.json()["error"]["code"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_post_that_is_not_json_is_a_415(scripted, content_type):
    srv = scripted()
    r = chat(srv, headers={"Content-Type": content_type} if content_type else {})
    assert r.status_code == 415 and code(r) == "unsupported_media_type"
    assert r.json()["error"]["param"] is None


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON", "application/vnd.api+json"])
def test_json_content_types_are_accepted(scripted, content_type):
    assert chat(scripted(), headers={"Content-Type": content_type}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io",
                                  "localhost.evil.example", "10.0.0.7:8000", "[::2]:8000"])
def test_a_foreign_host_is_refused_without_a_key(scripted, host):
    """DNS rebinding: the attacker's name resolves to 127.0.0.1; the browser sends it as Host."""
    srv = scripted()
    r = chat(srv, headers={**JSON, "Host": host})
    assert r.status_code == 403 and code(r) == "forbidden_host"
    for path in ("/v1/models", "/health", "/docs", "/openapi.json"):
        assert get(srv, path, {"Host": host}).status_code == 403, path


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "LOCALHOST.", "127.0.0.1",
                                  "127.0.0.1:8000", "127.1.2.3", "[::1]:8000", "app.localhost"])
def test_loopback_hosts_are_served(scripted, host):
    assert chat(scripted(), headers={**JSON, "Host": host}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "https://evil.example:8000", "null",
                                    "http://127.0.0.1.evil.example", "file://"])
def test_a_foreign_origin_is_refused_without_a_key(scripted, origin):
    """A page on another site POSTing with fetch: the browser sends its Origin."""
    srv = scripted()
    r = chat(srv, headers={**JSON, "Origin": origin})
    assert r.status_code == 403 and code(r) == "forbidden_origin"


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:8000",
                                    "http://[::1]:3000", "https://app.localhost"])
def test_local_origins_are_served(scripted, origin):
    assert chat(scripted(), headers={**JSON, "Origin": origin}).status_code == 200


def test_allowed_hosts_and_origins_extend_the_local_ones(scripted):
    srv = scripted(allowed_hosts=["models.internal.example"],
                   allowed_origins=["https://app.example"])
    assert chat(srv, headers={**JSON, "Host": "models.internal.example:443"}).status_code == 200
    assert chat(srv, headers={**JSON, "Origin": "https://app.example"}).status_code == 200
    assert chat(srv, headers={**JSON, "Origin": "http://app.example"}).status_code == 403
    assert chat(srv, headers={**JSON, "Host": "evil.example"}).status_code == 403
    anyone = scripted(allowed_hosts=["*"], allowed_origins=["*"])
    assert chat(anyone, headers={**JSON, "Host": "x.example",
                                 "Origin": "http://y.example"}).status_code == 200


def test_listening_on_all_interfaces_serves_address_hosts_not_foreign_names(scripted):
    """Bound to 0.0.0.0, clients on the network use the machine's address (DNS rebinding
    always sends a name); a name is still foreign unless allowed."""
    srv = scripted(host="0.0.0.0")
    assert chat(srv, headers={**JSON, "Host": "192.168.1.20:8000"}).status_code == 200
    assert chat(srv, headers={**JSON, "Host": "evil.example"}).status_code == 403


def test_with_a_key_every_path_but_health_needs_it(scripted, monkeypatch):
    monkeypatch.setenv("LAMSTUDIO_TEST_KEY", "k-123")
    srv = scripted(api_key_env="LAMSTUDIO_TEST_KEY")
    key = {"Authorization": "Bearer k-123"}
    for path in ("/docs", "/redoc", "/openapi.json", "/v1/models"):
        r = get(srv, path)
        assert r.status_code == 401 and code(r) == "invalid_api_key", path
        assert get(srv, path, key).status_code == 200, path
    assert get(srv, "/health").status_code == 200
    # The key is what protects a keyed server: a proxy's Host is no reason to refuse.
    assert chat(srv, headers={**JSON, **key, "Host": "models.example"}).status_code == 200
    assert chat(srv, headers={**JSON, "Host": "models.example"}).status_code == 401
