-- wrk script: POST a body built from a template, each request with a fresh id.
-- Arguments (after --): method, path, content type, bearer token, template file, run id,
-- optionally a file of paths, one per line: request N goes to the file's line N (a
-- workflow action, each request on an inquiry of its own; one wrk thread; "-" for none),
-- and optionally a file of bodies, one per line: request N sends line N (in turn) instead
-- of the template.
-- In the template "{{id}}" becomes "<run>-<thread>-<counter>", unique across threads.
local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   method, path = args[1], args[2]
   headers = {
      ["Content-Type"] = args[3],
      ["Authorization"] = "Bearer " .. args[4],
   }
   local file = assert(io.open(args[5], "rb"))
   template = file:read("*a")
   file:close()
   run = args[6]
   paths = {}
   if args[7] and args[7] ~= "-" then
      for line in io.lines(args[7]) do
         table.insert(paths, line)
      end
   end
   bodies = {}
   if args[8] then
      for line in io.lines(args[8]) do
         table.insert(bodies, line)
      end
   end
end

function request()
   counter = counter + 1
   local id = run .. "-" .. thread_id .. "-" .. counter
   local body
   if #bodies > 0 then
      body = bodies[(counter - 1) % #bodies + 1]
   else
      body = template:gsub("{{id}}", id)
   end
   local target = path
   if #paths > 0 then
      target = paths[(counter - 1) % #paths + 1]
   end
   return wrk.format(method, target, headers, body)
end

function done(summary, latency, requests)
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f errors_status=%d errors_other=%d p50=%.3f p99=%.3f\n",
      summary.requests, summary.duration / 1e6, summary.errors.status,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
