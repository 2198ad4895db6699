-- GET /healthz: the same request every time (the path comes from the URL).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
