-- POST /orders at crm-api: one confirmed order end to end (crm-api ->
-- order-service -> inventory-service reserve -> logistics-service ->
-- inventory commit). BENCH_CUSTOMER_ID is the customer the harness created
-- before the run; products are seeded with stock that never runs short.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local customer = os.getenv("BENCH_CUSTOMER_ID") or ""

function request()
	return bench.json_request("POST", "/orders", string.format(
	    '{"customer_id":"%s","items":[{"product_id":"%s","quantity":%d}],' ..
	    '"shipping_address":{"line1":"1 Bench Street","city":"Berlin",' ..
	    '"postal_code":"10115","country":"DE"}}',
	    customer, bench.product(), math.random(1, 3)))
end
