-- common.lua - shared by every wrk script of the bench (loaded with dofile
-- from BENCH_WRK_DIR). It prints one machine-readable line for
-- tests/bench/bench.py with the latency percentiles p50, p99, p99.9
-- (microseconds) and wrk's error counts. It deliberately defines no
-- response() callback: wrk would then build a Lua table of every answer,
-- which halves what one client core can drive. wrk counts status >= 400 by
-- itself; bench.py adds the non-2xx the service reports in /metrics.
-- Every request carries Authorization when BENCH_TOKEN is set; a JSON body
-- gets its Content-Type.

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end

local nthreads = 0

-- Main environment: give each thread an id (its random seed).
function setup(thread)
	nthreads = nthreads + 1
	thread:set("thread_id", nthreads)
end

-- Thread environments.
thread_id = 0

function init(args)
	math.randomseed(os.time() * 1000 + thread_id * 7919)
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
	    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
	    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
	    '"p50_us":%.1f,"p99_us":%.1f,"p999_us":%.1f,' ..
	    '"mean_us":%.1f,"max_us":%.1f}\n',
	    summary.requests, summary.duration, summary.bytes,
	    e.connect, e.read, e.write, e.status, e.timeout,
	    latency:percentile(50.0), latency:percentile(99.0),
	    latency:percentile(99.9), latency.mean, latency.max))
end

-- Helpers for the case scripts.
bench = {}

-- A product among the seeded ones (tests/bench/bench.py: seed()).
function bench.product()
	return tostring(math.random(100000, 199999))
end

-- A customer among the seeded ones (bench.py: SEED_CUSTOMER_SQL).
function bench.customer()
	return string.format("00000000-0000-4000-8000-%012d",
	    math.random(1, 10000))
end

local hex = "0123456789abcdef"
local function hexdigits(n)
	local t = {}
	for i = 1, n do
		local d = math.random(1, 16)
		t[i] = hex:sub(d, d)
	end
	return table.concat(t)
end

-- A random version 4 UUID, canonical lower case.
function bench.uuid()
	local v = math.random(9, 12)
	return hexdigits(8) .. "-" .. hexdigits(4) .. "-4" .. hexdigits(3) ..
	    "-" .. hex:sub(v, v) .. hexdigits(3) .. "-" .. hexdigits(12)
end

function bench.json_request(method, path, body)
	wrk.headers["Content-Type"] = "application/json"
	return wrk.format(method, path, nil, body)
end
