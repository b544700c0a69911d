-- wrk script: POST /api/project_modelview/ with a name no other request of
-- any run uses: run tag + thread + per-thread counter (+ a random suffix).
--   wrk -s create.lua URL -- TAG   (a different TAG for every wrk run)
local token = assert(os.getenv("CUBE_BENCH_TOKEN"), "CUBE_BENCH_TOKEN is not set")

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "application/json"

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local run, n = "r", 0

function init(args)
   run = args[1] or tostring(os.time())
   math.randomseed(os.time() + 7919 * (tid or 0))
end

function request()
   n = n + 1
   local name = string.format("b%s-%d-%d-%d", run, tid or 0, n, math.random(1000, 9999))
   return wrk.format("POST", "/api/project_modelview/", nil,
                     '{"name":"' .. name .. '","describe":"bench"}')
end
