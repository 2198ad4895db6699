#!/usr/bin/env bash
# tests/smoke/order.sh STACK_ENV - one order through a running stack, as a
# user places it (CONTRACT §1: ./build.sh ends with it): stock at
# inventory-service, a customer and an order at crm-api, then the order's
# outcome; fails unless it is confirmed. STACK_ENV is the stack's
# run/stack.env.
set -euo pipefail

[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: order.sh STACK_ENV" >&2; exit 2; }
# shellcheck disable=SC1090
. "$1"

say() { printf '==> %s\n' "$*"; }
# jfield KEY: the top-level string KEY of the JSON object on stdin.
jfield() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

pid="SMOKE-1" svc_auth="Authorization: Bearer $SERVICE_TOKEN"
auth="Authorization: Bearer $API_KEY" json='Content-Type: application/json'

say "smoke: 100 units of $pid at inventory-service"
curl -fsS --cacert "$CA_CERT" -H "$svc_auth" -H "$json" -X PUT \
    -d '{"quantity": 100}' "$INVENTORY_SERVICE_URL/inventory/$pid" >/dev/null

say "smoke: a customer and one order through crm-api"
cust=$(curl -fsS --cacert "$CA_CERT" -H "$auth" -H "$json" \
    -d "{\"name\":\"Smoke Test\",\"email\":\"smoke+$(date +%s%N)@example.com\"}" \
    "$CRM_API_URL/customers" | jfield id)
order=$(curl -fsS --cacert "$CA_CERT" -H "$auth" -H "$json" \
    -H "Idempotency-Key: smoke-$cust" \
    -d "{\"customer_id\":\"$cust\",\"items\":[{\"product_id\":\"$pid\",\"quantity\":1}],\"shipping_address\":{\"line1\":\"1 Main St\",\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\"}}" \
    "$CRM_API_URL/orders")
id=$(printf '%s' "$order" | jfield id)
status=$(printf '%s' "$order" | jfield status)
# 202: still pending; the outbox finishes it, GET shows the outcome.
for _ in $(seq 1 50); do
	[ "$status" != pending ] && break
	sleep 0.2
	order=$(curl -fsS --cacert "$CA_CERT" -H "$auth" "$CRM_API_URL/orders/$id")
	status=$(printf '%s' "$order" | jfield status)
done
printf '%s\n' "$order"
say "smoke: order $id is $status"
[ "$status" = confirmed ] || { echo "order.sh: the smoke order was not confirmed" >&2; exit 1; }
