-- status-timeline.lua - a wrk script that records when each kind of answer arrived.
--
-- Usage: wrk ... -s scripts/fault/status-timeline.lua URL -- TOKEN
--
-- Sends GET requests to URL with "Authorization: Bearer TOKEN" (when a token is given) and
-- sorts every answer into one of three classes:
--   ok           a 2xx status
--   unavailable  a 503 whose JSON body has the error code "unavailable"
--   other        anything else
-- Answers are counted per 100 ms bucket of wall-clock time. When the run ends, one line is
-- printed per bucket and class:
--   bucket <milliseconds since the epoch> <class> <count>
-- followed by one line per other answer seen (at most 20 per thread):
--   sample <status> <first 200 bytes of the body, on one line>

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } timeval_t;
  int gettimeofday(timeval_t *tv, void *tz);
]]
local tv = ffi.new("timeval_t")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  buckets = {}
  samples = {}
  if args[1] ~= nil and args[1] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
  request_text = wrk.format("GET")
end

function request()
  return request_text
end

local function classify(status, headers, body)
  if status >= 200 and status < 300 then
    return "ok"
  end
  local content_type = headers["content-type"] or headers["Content-Type"] or ""
  if status == 503 and content_type:find("application/json", 1, true) == 1
      and body:find('^{"error":{"code":"unavailable"') ~= nil then
    return "unavailable"
  end
  return "other"
end

function response(status, headers, body)
  local class = classify(status, headers, body or "")
  local key = math.floor(now_ms() / 100) * 100 .. " " .. class
  buckets[key] = (buckets[key] or 0) + 1
  if class == "other" and #samples < 20 then
    local text = (body or ""):sub(1, 200):gsub("[\r\n]", " ")
    table.insert(samples, status .. " " .. text)
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local thread_buckets = thread:get("buckets")
    for key, count in pairs(thread_buckets) do
      io.write("bucket " .. key .. " " .. count .. "\n")
    end
    local thread_samples = thread:get("samples")
    for _, sample in ipairs(thread_samples) do
      io.write("sample " .. sample .. "\n")
    end
  end
end
