"""Each service's OpenAPI file against the service: every route the Kore
config serves is described, and every described operation answers with a
status the description lists."""

import os
import re
import uuid

import pytest
import yaml

from conftest import REPO

SERVICES = {"inventory-service": "inventory",
            "logistics-service": "logistics", "order-service": "orders",
            "crm-api": "crm"}
SAMPLES = {"productId": "SKU-OPENAPI-1", "id": None}
METHODS = ("get", "put", "post", "delete", "patch")


def conf_routes(service):
    routes = []
    with open(os.path.join(REPO, "conf", service + ".conf")) as f:
        for line in f:
            m = re.match(r"\s*route\s+(\S+)\s+(\S+)", line)
            if m and m.group(2) != "svc_not_found":
                pat = m.group(1)
                routes.append(re.compile(pat if pat.startswith("^")
                                         else "^" + re.escape(pat) + "$"))
    return routes


def spec(service):
    with open(os.path.join(REPO, "apps", service, "openapi.yaml")) as f:
        return yaml.safe_load(f)


def concrete(path):
    def sub(m):
        return SAMPLES.get(m.group(1)) or str(uuid.uuid4())
    return re.sub(r"\{(\w+)\}", sub, path)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_served_route_is_described(service):
    doc = spec(service)
    assert doc["openapi"].startswith("3.1")
    paths = [concrete(p) for p in doc["paths"]]
    for route in conf_routes(service):
        assert any(route.match(p) for p in paths), route.pattern
    for p in paths:
        assert any(r.match(p) for r in conf_routes(service)), p


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_described_operation_answers_as_described(service, request):
    client = request.getfixturevalue(SERVICES[service])
    doc = spec(service)
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body = example(content["application/json"]["schema"], doc)
            public = op.get("security") == []
            status, hdrs, _ = client.raw(
                method.upper(), concrete(path),
                None if body is None else __import__("json").dumps(body),
                {"Authorization": "Bearer " + client.token,
                 "Content-Type": "application/json"})
            assert str(status) in op["responses"], (method, path, status)
            assert "x-request-id" in hdrs
            # Without credentials: 401 unless the operation is public.
            status, _, _ = client.raw(method.upper(), concrete(path))
            if not public:
                assert status == 401, (method, path, status)


def example(schema, doc):
    """A valid instance of a (small) JSON schema, for the main success."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name == "Uuid":
            return str(uuid.uuid4())
        if name == "ProductId":
            return SAMPLES["productId"]
        return example(doc["components"]["schemas"][name], doc)
    t = schema.get("type")
    if t == "object":
        return {k: example(v, doc)
                for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", [])}
    if t == "array":
        return [example(schema["items"], doc)]
    if t == "integer":
        return max(schema.get("minimum", 1), 1)
    return "x"
