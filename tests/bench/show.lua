-- wrk script: GET /api/project_modelview/<id>, ids drawn uniformly from
-- [lo, hi] so the whole table is read, not one hot row.
--   wrk -s show.lua URL -- LO HI
local token = assert(os.getenv("CUBE_BENCH_TOKEN"), "CUBE_BENCH_TOKEN is not set")

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

-- setup() runs in the main state once per thread, before that thread's init().
local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local lo, hi

function init(args)
   lo = assert(tonumber(args[1]), "usage: -- LO HI")
   hi = assert(tonumber(args[2]), "usage: -- LO HI")
   math.randomseed(os.time() + 7919 * (tid or 0))
end

function request()
   return wrk.format("GET", "/api/project_modelview/" .. math.random(lo, hi))
end
