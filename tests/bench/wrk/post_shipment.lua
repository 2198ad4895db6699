-- POST /shipments: a new supply order id each time, one or two seeded
-- products (never the same one twice: that is a 400 by the contract), a
-- destination among a few countries (every warehouse is used).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local dest = {
	{ "10115", "DE" }, { "3011", "NL" }, { "69001", "FR" },
	{ "28001", "ES" }, { "00-001", "PL" }, { "10001", "US" },
	{ "75201", "US" }, { "94105", "US" }, { "20121", "IT" },
}

function request()
	local d = dest[math.random(1, #dest)]
	local first = bench.product()
	local items = string.format('{"product_id":"%s","quantity":%d}',
	    first, math.random(1, 5))
	if math.random(1, 2) == 2 then
		local second = bench.product()
		while second == first do
			second = bench.product()
		end
		items = items .. string.format(
		    ',{"product_id":"%s","quantity":%d}',
		    second, math.random(1, 5))
	end
	return bench.json_request("POST", "/shipments", string.format(
	    '{"order_id":"%s","items":[%s],"destination":' ..
	    '{"postal_code":"%s","country":"%s"},"service_level":"%s"}',
	    bench.uuid(), items, d[1], d[2],
	    math.random(1, 4) == 4 and "express" or "standard"))
end
