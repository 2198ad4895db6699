-- PUT /inventory/:id {"quantity": n}, a random seeded product (200), no
-- If-Match. Quantities stay high so order-flow cases never run short.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
	return bench.json_request("PUT", "/inventory/" .. bench.product(),
	    string.format('{"quantity":%d}', math.random(100000000, 999999999)))
end
