-- openloop.lua - a case's requests at a constant offered rate (open
-- loop), latency measured from when each request was due: wrk's own
-- closed loop sends the next request only once the last one is answered,
-- so a slow answer delays (and hides) the requests that should have gone
-- out meanwhile - coordinated omission.
--
-- BENCH_RATE requests/s in all, BENCH_CASE_SCRIPT the case's own script
-- (its request() builds each request); the first request is due
-- BENCH_OPENLOOP_START_MS (1000) after the first connection is up. Each wrk thread keeps a schedule
-- of due times, one every threads/BENCH_RATE s. A connection that is free
-- takes the next due time in delay() and waits until then (rounded up to
-- wrk's 1 ms timers, never early); when every connection is busy the due
-- times pass unclaimed, and the next free connection sends at once. The
-- due time travels in the request's X-Request-Id, which every service
-- echoes, so response() measures each answer from its own due time,
-- however late it was sent. With enough connections (connections /
-- BENCH_RATE well above the latency) the offered rate is the scheduled
-- one; "behind_max_ms" tells how late a send ever was.
--
-- done() prints one more line for tests/bench/bench.py:
-- BENCH_OPENLOOP {"rate", "sent", "answered", "p50_us", "p99_us",
-- "p999_us", "max_us", "behind_max_us", "status": {code: n}}.

local case = os.getenv("BENCH_CASE_SCRIPT")
dofile(os.getenv("BENCH_WRK_DIR") .. "/" .. case)
local case_request = request

local ffi = require("ffi")
ffi.cdef[[
	struct bench_timespec { long tv_sec; long tv_nsec; };
	int clock_gettime(int, struct bench_timespec *);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("struct bench_timespec")

local function now_us()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

-- Latency histogram: 100 us buckets (sparse).
local BUCKET_US = 100

local rate = tonumber(os.getenv("BENCH_RATE"))
local start_us = 1000 * (tonumber(os.getenv("BENCH_OPENLOOP_START_MS")) or 1000)
local threads = {}
local case_setup = setup

function setup(thread)
	case_setup(thread)
	threads[#threads + 1] = thread
	thread:set("interval_us", 0)
end

-- Thread environments.
interval_us = 0
hist = {}
status = {}
sent = 0
answered = 0
behind_max_us = 0
local due = {}		-- due times claimed by connections, in order
local first, last = 1, 0
local next_due = nil
local seq = 0

local case_init = init

function init(args)
	case_init(args)
	local nthreads = tonumber(os.getenv("BENCH_THREADS_N")) or 1
	interval_us = 1000000 * nthreads / rate
end

function delay()
	local now = now_us()
	if next_due == nil then
		-- The schedule starts once the client's connections are up:
		-- wrk opens them all at once, and the first second of the
		-- run is their TLS handshakes (128 at the same moment, which
		-- a steady stream of orders does not have). No request is due
		-- before, so none is measured from then.
		next_due = now + start_us
	end
	-- Due times nobody could take are not made up later in a rush
	-- beyond what the schedule says: each is taken by the next free
	-- connection, in order, and measured from when it was due.
	local d = next_due
	next_due = next_due + interval_us
	last = last + 1
	due[last] = d
	if d <= now then
		return 0
	end
	return math.ceil((d - now) / 1000)
end

function request()
	local d
	if first <= last then
		d = due[first]
		due[first] = nil
		first = first + 1
	else
		d = now_us()
	end
	local behind = now_us() - d
	if behind > behind_max_us then
		behind_max_us = behind
	end
	seq = seq + 1
	sent = sent + 1
	wrk.headers["X-Request-Id"] = string.format("ol-%d-%d-%d",
	    math.floor(d), thread_id, seq)
	return case_request()
end

function response(code, headers, body)
	answered = answered + 1
	status[code] = (status[code] or 0) + 1
	local id = headers["x-request-id"] or headers["X-Request-Id"]
	local d = id and tonumber(string.match(id, "^ol%-(%d+)%-"))
	if d then
		local b = math.floor((now_us() - d) / BUCKET_US)
		hist[b] = (hist[b] or 0) + 1
	end
end

local function percentile(buckets, keys, total, p)
	local want = math.ceil(total * p / 100)
	local seen = 0
	for _, k in ipairs(keys) do
		seen = seen + buckets[k]
		if seen >= want then
			return (k + 1) * BUCKET_US
		end
	end
	return 0
end

local case_done = done

function done(summary, latency, requests)
	case_done(summary, latency, requests)
	local buckets, keys, total = {}, {}, 0
	local codes, nsent, nanswered, behind = {}, 0, 0, 0
	for _, t in ipairs(threads) do
		for k, n in pairs(t:get("hist")) do
			if buckets[k] == nil then
				keys[#keys + 1] = k
				buckets[k] = 0
			end
			buckets[k] = buckets[k] + n
			total = total + n
		end
		for c, n in pairs(t:get("status")) do
			codes[tostring(c)] = (codes[tostring(c)] or 0) + n
		end
		nsent = nsent + t:get("sent")
		nanswered = nanswered + t:get("answered")
		behind = math.max(behind, t:get("behind_max_us"))
	end
	table.sort(keys)
	local parts = {}
	for c, n in pairs(codes) do
		parts[#parts + 1] = string.format('"%s":%d', c, n)
	end
	io.write(string.format(
	    'BENCH_OPENLOOP {"rate":%.1f,"sent":%d,"answered":%d,' ..
	    '"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
	    '"behind_max_us":%d,"status":{%s}}\n',
	    rate, nsent, nanswered,
	    percentile(buckets, keys, total, 50),
	    percentile(buckets, keys, total, 99),
	    percentile(buckets, keys, total, 99.9),
	    #keys > 0 and (keys[#keys] + 1) * BUCKET_US or 0,
	    behind, table.concat(parts, ",")))
end
