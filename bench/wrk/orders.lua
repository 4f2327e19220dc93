-- POST /orders for wrk: each request from the next member of this thread's share.
--
-- Environment (set by bench/wrkrun.py):
--   BENCH_TARGETS   file of "<access token> <product id>" lines, one order each
--   BENCH_THREADS   wrk's -t, so that thread k takes lines k, k+T, k+2T, ...
--   BENCH_WAIT      seconds for "Prefer: wait=N", or empty for none
--   BENCH_PROGRESS  directory where each thread writes "<sent> <answered> <quota>" now and then
--   BENCH_SUMMARY   JSON file written by done(): statuses, answers per 100 ms, latency
-- A thread stops once every one of its orders is answered (the bench then ends
-- wrk with SIGINT); a connection that asks for a request after the last order
-- gets GET /healthz (answered 200, which no order ever is), so no order is sent twice.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")

-- Wall-clock seconds (CLOCK_REALTIME), comparable with the pipeline's event times.
local function now()
   ffi.C.clock_gettime(0, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local total = tonumber(os.getenv("BENCH_THREADS"))
   local wait = os.getenv("BENCH_WAIT") or ""
   progress_dir = os.getenv("BENCH_PROGRESS")
   targets = {}
   local n = 0
   for line in io.lines(os.getenv("BENCH_TARGETS")) do
      if n % total == id then
         local token, product = line:match("^(%S+)%s+(%d+)")
         table.insert(targets, {token, product})
      end
      n = n + 1
   end
   headers = {["Content-Type"] = "application/json"}
   if wait ~= "" then headers["Prefer"] = "wait=" .. wait end
   idle = wrk.format("GET", "/healthz")
   -- wrk calls request() once on thread 0 before the run to check it: not an order.
   verifying = (id == 0)
   sent, answered, overflow = 0, 0, 0
   first_sent, last_answer, last_report = 0, 0, 0
   statuses = {}
   answers_per_tick = {}
end

function request()
   if verifying then
      verifying = false
      return idle
   end
   if sent >= #targets then
      return idle
   end
   if sent == 0 then first_sent = now() end
   sent = sent + 1
   local target = targets[sent]
   headers["Authorization"] = "Bearer " .. target[1]
   return wrk.format("POST", "/orders", headers,
                     '{"product_id": ' .. target[2] .. ', "qty": 1}')
end

local function report_progress()
   local f = io.open(progress_dir .. "/thread-" .. id, "w")
   if f then
      f:write(sent .. " " .. answered .. " " .. #targets .. "\n")
      f:close()
   end
end

function response(status, headers, body)
   if status == 200 then
      overflow = overflow + 1
      return
   end
   local key = tostring(status)
   -- A 409 without an order id is the sold-out fast path: no order was created.
   if status == 409 and body and body:find('"order_id":%s*null') then
      key = "409-no-order"
   end
   statuses[key] = (statuses[key] or 0) + 1
   answered = answered + 1
   last_answer = now()
   local tick = math.floor(last_answer * 10)
   answers_per_tick[tick] = (answers_per_tick[tick] or 0) + 1
   -- Progress at most every 100 ms: the file is for the bench's progress line.
   if last_answer - last_report > 0.1 then
      last_report = last_answer
      report_progress()
   end
   if answered >= #targets then
      report_progress()
      wrk.thread:stop()
   end
end

local function json_object(values, quote_keys)
   local parts = {}
   for key, value in pairs(values) do
      table.insert(parts, string.format('"%s": %s', tostring(key), tostring(value)))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

local function merged(name)
   local all = {}
   for _, thread in ipairs(threads) do
      for key, count in pairs(thread:get(name)) do
         all[key] = (all[key] or 0) + count
      end
   end
   return all
end

local function span()
   local first, last = nil, 0
   for _, thread in ipairs(threads) do
      local started = thread:get("first_sent")
      if started > 0 and (first == nil or started < first) then first = started end
      last = math.max(last, thread:get("last_answer"))
   end
   return first or 0, last
end

function done(summary, latency, requests)
   local overflow_all = 0
   for _, thread in ipairs(threads) do
      overflow_all = overflow_all + thread:get("overflow")
   end
   local percentiles = {}
   for _, p in ipairs({50, 90, 95, 99, 99.9}) do
      percentiles[tostring(p)] = latency:percentile(p)
   end
   local first, last = span()
   local errors = summary.errors
   local out = io.open(os.getenv("BENCH_SUMMARY"), "w")
   out:write("{",
      string.format('"first_sent": %.6f, "last_answer": %.6f, ', first, last),
      '"duration_us": ', summary.duration, ", ",
      '"requests": ', summary.requests, ", ",
      '"overflow": ', overflow_all, ", ",
      '"statuses": ', json_object(merged("statuses")), ", ",
      '"answers_per_tick": ', json_object(merged("answers_per_tick")), ", ",
      '"errors": ', json_object({connect = errors.connect, read = errors.read,
                                 write = errors.write, status = errors.status,
                                 timeout = errors.timeout}), ", ",
      '"latency_us": ', json_object({mean = latency.mean, max = latency.max,
                                     min = latency.min, stdev = latency.stdev}), ", ",
      '"percentiles_us": ', json_object(percentiles),
      "}\n")
   out:close()
end
