-- overload.lua - wrk script of test_overload.py: POST /orders for one
-- customer over a few products, as fast as the connections allow, and
-- every answer written down (status, Retry-After, X-Request-Id, body) a
-- line each, one file per thread, for the test to check afterwards. The
-- bench's common.lua (BENCH_WRK_DIR) gives the token (BENCH_TOKEN), the
-- thread ids and the JSON request; OVERLOAD_DIR, OVERLOAD_CUSTOMER and
-- OVERLOAD_PRODUCTS (comma-separated) say the rest.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local dir = os.getenv("OVERLOAD_DIR")
local customer = os.getenv("OVERLOAD_CUSTOMER")
local products = {}
for p in string.gmatch(os.getenv("OVERLOAD_PRODUCTS"), "[^,]+") do
	products[#products + 1] = p
end

local out
local common_init = init

function init(args)
	common_init(args)
	out = io.open(dir .. "/answers." .. thread_id, "w")
	-- Every line is complete on disk even if wrk never closes the file.
	out:setvbuf("line")
end

function request()
	return bench.json_request("POST", "/orders", string.format(
	    '{"customer_id":"%s","items":[{"product_id":"%s","quantity":%d}],' ..
	    '"shipping_address":{"line1":"1 Main St","city":"Berlin",' ..
	    '"postal_code":"10115","country":"DE"}}', customer,
	    products[math.random(1, #products)], math.random(1, 3)))
end

function response(status, headers, body)
	out:write(status, "\t", headers["retry-after"] or "", "\t",
	    headers["x-request-id"] or "", "\t",
	    (string.gsub(body, "[\r\n]", " ")), "\n")
end
