-- wrk script: every request carries the benchmark's bearer token.
-- The request itself is wrk's fixed one (the URL on the command line),
-- so wrk builds it once and reuses it.
local token = assert(os.getenv("CUBE_BENCH_TOKEN"), "CUBE_BENCH_TOKEN is not set")

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
