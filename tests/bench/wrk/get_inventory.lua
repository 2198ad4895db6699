-- GET /inventory/:id, a random product among the 100 000 seeded ones.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

function request()
	return wrk.format("GET", "/inventory/" .. bench.product())
end
