-- POST /orders at crm-api: one confirmed order end to end (crm-api ->
-- order-service -> inventory-service reserve -> logistics-service ->
-- inventory commit), for random seeded customers and products (bench.py
-- seed(): the products' stock never runs short).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
	return bench.json_request("POST", "/orders", string.format(
	    '{"customer_id":"%s","items":[{"product_id":"%s","quantity":%d}],' ..
	    '"shipping_address":{"line1":"1 Bench Street","city":"Berlin",' ..
	    '"postal_code":"10115","country":"DE"}}',
	    bench.customer(), bench.product(), math.random(1, 3)))
end
