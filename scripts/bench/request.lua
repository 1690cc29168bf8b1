-- wrk script of scripts/bench.sh: one fixed request, configured from the environment, and a
-- JSON summary with the latency percentiles written at the end.
--
--   BENCH_METHOD     HTTP method (default GET)
--   BENCH_TOKEN      sent as "Authorization: Bearer <token>" when set
--   BENCH_COOKIE     sent as the Cookie header when set
--   BENCH_BODY       request body, sent as JSON, when set
--   BENCH_JSON_OUT   file that receives the summary (required)

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    return nil
  end
  return value
end

wrk.method = env("BENCH_METHOD") or "GET"
local token = env("BENCH_TOKEN")
if token then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local cookie = env("BENCH_COOKIE")
if cookie then
  wrk.headers["Cookie"] = cookie
end
local body = env("BENCH_BODY")
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

local percentiles = { 50, 75, 90, 99, 99.9, 99.99 }

function done(summary, latency, requests)
  local out = assert(env("BENCH_JSON_OUT"), "BENCH_JSON_OUT is not set")
  local parts = {}
  for _, p in ipairs(percentiles) do
    parts[#parts + 1] = string.format("[%s, %.4f]", p, latency:percentile(p) / 1000)
  end
  local errors = summary.errors
  local file = assert(io.open(out, "w"))
  file:write(string.format(
    '{"requests": %d, "duration_s": %.6f, "bytes": %d, "rps": %.2f, ' ..
    '"mean_ms": %.4f, "max_ms": %.4f, "percentiles": [%s], ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, summary.bytes,
    summary.requests / (summary.duration / 1e6),
    latency.mean / 1000, latency.max / 1000, table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
  file:close()
end
