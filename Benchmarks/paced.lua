-- Open-loop pacing for wrk 4 (which has no rate option): requests are sent
-- on a fixed schedule, and each latency is measured from the time the
-- request was due, not from the time it was sent, so a server that falls
-- behind is charged for the wait it caused (no coordinated omission).
--
-- Arguments (after --): BODIES THREADS split|all RATE
--   BODIES   one form body per line (as for bodies.lua);
--   THREADS  wrk's -t (each thread takes every THREADS-th line with "split");
--   RATE     requests per second, all threads together.
--
-- How: thread i of n owns the due times t0 + (k + i/n) * n/RATE, k = 0, 1,
-- ... (its share of one evenly spaced schedule). When a connection is free
-- wrk calls delay(): it takes the thread's next due time and asks wrk to
-- wait until then (rounded up to wrk's millisecond timer, so a request is
-- never sent early; a due time already past is sent at once and counted
-- as late). request() sends it with X-Request-Id "p<thread>-<seq>", which
-- the server echoes; response() finds the due time by that id and records
-- now - due (LuaJIT's FFI gives clock_gettime(CLOCK_MONOTONIC)). With
-- enough connections (each holds one request in flight) the schedule
-- never waits for a free connection; when it does, the wait is in the
-- latencies. done() prints one JSON line: answered requests, the achieved
-- rate, non-200 answers and socket errors, late sends, requests sent but
-- still unanswered when wrk stopped, and p50/p90/p99/p99.9/max of the latency from the due time (and
-- p50/p99 of wrk's own send-to-answer latency, for comparison).
local ffi = require("ffi")
ffi.cdef [[
struct modelsec_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock, struct modelsec_timespec *out);
]]
local clock = ffi.new("struct modelsec_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
local count = 0
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  bodies, next_body = {}, 1
  nthreads = tonumber(args[2])
  local i = 0
  for line in io.lines(args[1]) do
    if args[3] == "all" or i % nthreads == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
  local rate = tonumber(args[4])
  period = 1000000 * nthreads / rate -- microseconds between this thread's due times
  offset = id * 1000000 / rate
  due_queue, queue_head, queue_tail = {}, 1, 0
  due_by_id = {}
  sequence = 0
  -- Results, read by done() through thread:get (numbers and strings only).
  latencies = {}
  answered, refused, late, scheduled, sent = 0, 0, 0, 0, 0
end

function delay()
  local now = now_us()
  if t0 == nil then t0 = now + 20000 + offset end -- the first due time: 20 ms after the first connection is ready
  local due = t0 + scheduled * period
  scheduled = scheduled + 1
  queue_tail = queue_tail + 1
  due_queue[queue_tail] = due
  local wait = due - now
  if wait <= 0 then
    late = late + 1
    return 0
  end
  return math.ceil(wait / 1000)
end

function request()
  -- wrk calls request() when a delay() timer fires: timers fire in due
  -- order, so the oldest due time waiting is this request's.
  local due = due_queue[queue_head]
  due_queue[queue_head] = nil
  queue_head = queue_head + 1
  sequence = sequence + 1
  sent = sent + 1
  local rid = "p" .. id .. "-" .. sequence
  due_by_id[rid] = due
  local body = bodies[next_body]
  next_body = next_body + 1
  if next_body > #bodies then next_body = 1 end
  return wrk.format("POST", "/token", { ["Content-Type"] = "application/x-www-form-urlencoded", ["X-Request-Id"] = rid }, body)
end

function response(status, headers, body)
  local now = now_us()
  local rid = headers["x-request-id"] or headers["X-Request-Id"]
  local due = rid and due_by_id[rid]
  if due then
    due_by_id[rid] = nil
    latencies[#latencies + 1] = math.floor(now - due)
  end
  answered = answered + 1
  if status ~= 200 then refused = refused + 1 end
end

function done(summary, latency, requests)
  local all = {}
  local answered_, refused_, late_, sent_ = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    local list = thread:get("latencies")
    for _, value in ipairs(list) do all[#all + 1] = value end
    answered_ = answered_ + thread:get("answered")
    refused_ = refused_ + thread:get("refused")
    late_ = late_ + thread:get("late")
    sent_ = sent_ + thread:get("sent")
  end
  table.sort(all)
  local function percentile(p)
    if #all == 0 then return 0 end
    local index = math.ceil(#all * p / 100)
    if index < 1 then index = 1 end
    return all[index]
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rate":%.1f,"errors":%d,"late":%d,"unanswered":%d,"p50us":%d,"p90us":%d,"p99us":%d,"p999us":%d,"maxus":%d,"wrk_p50us":%d,"wrk_p99us":%d}\n',
    answered_, seconds, answered_ / seconds, refused_ + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    late_, sent_ - answered_, percentile(50), percentile(90), percentile(99), percentile(99.9), percentile(100),
    latency:percentile(50), latency:percentile(99)))
end
