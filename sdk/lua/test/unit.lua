--[[
Checks of the SDK's own decisions with a scripted transport (no server): JSON, which answers are
retried and how long it waits, the queue's drops and cap. Run: lua unit.lua (any of the three).
]]
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/../?.lua;" .. package.path
local GameMod = require("gamemod")
local json = GameMod.json

local failures, count = 0, 0
local function check(name, ok, detail)
  count = count + 1
  if ok then print("ok   " .. name) else
    failures = failures + 1
    print("FAIL " .. name .. (detail and (": " .. tostring(detail)) or ""))
  end
end

-- JSON.
local text = json.encode({ s = "a\"b\\c\n\1", n = -12, f = 0.25, big = 2 ^ 40, t = true, e = json.array({}), o = {},
  edge = json.array({ 2 ^ 31 - 1, 2 ^ 31, -2 ^ 31 - 1, 2 ^ 53 - 1 }) })
check("encode escapes and numbers", text == '{"big":1099511627776,"e":[],"edge":[2147483647,2147483648,-2147483649,9007199254740991],"f":0.25,"n":-12,"o":{},"s":"a\\"b\\\\c\\n\\u0001","t":true}', text)
local v = json.decode('{"a":[1,2,{"b":null}],"u":"\\u00e9\\ud83d\\ude00","x":-1.5e3}')
check("decode nested, null, unicode, exponent", v and v.a[3].b == json.null and v.u == "é😀" and v.x == -1500)
local bad, msg = json.decode('{"a":1,}')
check("decode refuses bad JSON with a message", bad == nil and type(msg) == "string")
check("decode refuses trailing text", json.decode("1 2") == nil)
check("encode refuses a cycle", not pcall(json.encode, (function() local t = {} t.t = t return t end)()))

-- A transport answering from a script; a clock the test moves.
local function scripted(answers)
  local t = { sent = {}, clock = 0 }
  t.now = function() return t.clock end
  t.request = function(req, done)
    t.sent[#t.sent + 1] = req
    local a = table.remove(answers, 1)
    if a == "down" then return done(nil, "connection refused") end
    done({ status = a.status, headers = a.headers or {}, body = a.body or "" })
  end
  return t
end
local function drain(gm, t)
  for _ = 1, 100 do
    if gm:pending() == 0 then return end
    t.clock = t.clock + 60
    gm:update()
  end
end
local ok201 = { status = 201, body = '{"report":{"id":"r","ticketId":"t"}}' }
local report = { reporter = { id = "a", name = "A" }, reported = { id = "b", name = "B" }, reason = "spam" }

-- 503 twice with Retry-After: 7, then success; the waits honour Retry-After; one key throughout.
local t = scripted({ { status = 503, headers = { ["retry-after"] = "7" } }, { status = 502 }, ok201 })
local waits = {}
local gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, onRetry = function(_, _, w) waits[#waits + 1] = w end })
local got
gm:reportPlayer(report, function(err, res) got = { err, res } end)
drain(gm, t)
check("5xx retried until success", got and got[1] == nil and got[2].report.id == "r" and #t.sent == 3)
check("first wait honours Retry-After", waits[1] and waits[1] >= 7, waits[1])
check("backoff without Retry-After stays within base * 2^attempt", waits[2] and waits[2] >= 0.5 and waits[2] <= 1, waits[2])
check("every try carries the same Idempotency-Key",
  t.sent[1].headers["Idempotency-Key"] and t.sent[1].headers["Idempotency-Key"] == t.sent[3].headers["Idempotency-Key"])

-- A Retry-After beyond maxRetryAfter is not waited for: the call is queued at once.
t = scripted({ { status = 429, headers = { ["retry-after"] = "3600" }, body = '{"error":{"code":"rate_limited","message":"slow"}}' } })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
gm:reportPlayer(report, function(err) got = err end)
check("an hour's Retry-After: RateLimitError, queued, one try", GameMod.isError(got, "RateLimitError") and got.queued
  and got.retryAfter == 3600 and #t.sent == 1 and #gm:queued() == 1)

-- 4xx other than 409 conflict are never retried.
t = scripted({ { status = 409, body = '{"error":{"code":"invalid_transition","message":"closed"}}' } })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
gm:reply("t1", { id = "a", name = "A" }, "hi", function(err) got = err end)
check("409 invalid_transition: ConflictError, not retried, not queued",
  GameMod.isError(got, "ConflictError") and got.code == "invalid_transition" and #t.sent == 1 and #gm:queued() == 0)

-- A queued item the server refuses for good leaves through onDropped; the next one still goes.
local store = GameMod.storage.memory()
t = scripted({ "down", "down" })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, storage = store, maxRetries = 0 })
gm:reportPlayer(report, function() end)
gm:createTicket({ player = { id = "a", name = "A" }, subject = "s", body = "b" }, function() end)
local dropped, sent = {}, {}
t = scripted({ { status = 422, body = '{"error":{"code":"validation_failed","message":"bad","details":[]}}' }, ok201 })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, storage = store, autoFlush = false,
  onDropped = function(item, err) dropped[#dropped + 1] = { item.kind, err.type } end,
  onSent = function(item) sent[#sent + 1] = item.kind end })
local flushed
gm:flush(function(err, n) flushed = { err, n } end)
check("flush drops the refused item through onDropped and sends the next",
  flushed and flushed[1] == nil and flushed[2] == 1 and dropped[1] and dropped[1][1] == "report"
    and dropped[1][2] == "ValidationError" and sent[1] == "ticket" and #gm:queued() == 0)

-- AuthError stops a flush and keeps everything (a new key may come with an update).
t = scripted({ "down" })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, storage = store, maxRetries = 0 })
gm:reportPlayer(report, function() end)
t = scripted({ { status = 401, body = '{"error":{"code":"unauthenticated","message":"no"}}' } })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, storage = store, autoFlush = false })
gm:flush(function(err) got = err end)
check("AuthError stops the flush and keeps the queue", GameMod.isError(got, "AuthError") and #gm:queued() == 1)

-- The queue holds at most maxQueue items; past it the error says it was not queued.
t = scripted({ "down", "down", "down" })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t, maxRetries = 0, maxQueue = 2 })
local errs = {}
for i = 1, 3 do gm:reportPlayer(report, function(err) errs[i] = err end) end
check("the queue stops at maxQueue", errs[1].queued and errs[2].queued and errs[3].queued == false and #gm:queued() == 2)

-- A transport that throws is a NetworkError, not a crash.
gm = GameMod.new({ baseUrl = "http://x", key = "k", maxRetries = 0, transport = { request = function() error("boom") end } })
gm:onlineCount(function(err) got = err end)
check("a throwing transport is a NetworkError", GameMod.isError(got, "NetworkError") and got.message:find("boom") ~= nil)

-- A POST with no idempotency key is not sent twice on a 5xx or no answer: the first may have
-- landed (an announcement published twice to every player). A 429 is still retried (the server
-- did nothing), and so are GETs and the sessions' heartbeat and end.
local okAnnounce = { status = 201, body = '{"announcement":{"id":"a1"}}' }
t = scripted({ { status = 502 }, okAnnounce })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
got = nil
gm:publishAnnouncement({ title = "Patch", body = "Notes" }, function(err) got = { err } end)
drain(gm, t)
check("a keyless POST is not retried on 5xx", got and GameMod.isError(got[1], "ServerError") and #t.sent == 1, #t.sent)
t = scripted({ "down", okAnnounce })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
got = nil
gm:createLinkCode({ id = "p", name = "P" }, function(err) got = { err } end)
drain(gm, t)
check("a keyless POST is not retried with no answer", got and GameMod.isError(got[1], "NetworkError") and #t.sent == 1, #t.sent)
t = scripted({ { status = 429, headers = { ["retry-after"] = "1" } }, okAnnounce })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
got = nil
gm:publishAnnouncement({ title = "Patch", body = "Notes" }, function(err) got = { err } end)
drain(gm, t)
check("a keyless POST is retried on 429", got and got[1] == nil and #t.sent == 2, #t.sent)
t = scripted({ { status = 503 }, { status = 200, body = '{"ok":true}' } })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
got = nil
gm:heartbeat("s1", function(err) got = { err } end)
drain(gm, t)
check("a heartbeat is retried on 5xx", got and got[1] == nil and #t.sent == 2, #t.sent)

-- The server holds its cursor back while another change is being written, so a poll may send a
-- message again; pollTicket hands each one out once, and still hands out the new ones.
local function thread(ids, cursor)
  local ms = {}
  for i, id in ipairs(ids) do ms[i] = '{"id":"' .. id .. '","author":"staff","body":"b","createdAt":"2026-01-01T00:00:00Z"}' end
  return { status = 200, body = '{"ticket":{"id":"t1","number":1,"subject":"s","status":"open","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"},"messages":['
    .. table.concat(ms, ",") .. '],"cursor":"' .. cursor .. '"}' }
end
t = scripted({ thread({ "m1", "m2" }, "10"), thread({ "m2", "m3" }, "10"), thread({ "m3" }, "12") })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
local handed, noFiles = {}, true
for _ = 1, 3 do
  gm:pollTicket("t1", "p1", function(err, data)
    if err then handed[#handed + 1] = "error" return end
    for _, m in ipairs(data.messages) do
      handed[#handed + 1] = m.id
      noFiles = noFiles and type(m.attachments) == "table" and #m.attachments == 0
    end
  end)
end
check("pollTicket hands out a message the server sends again only once", table.concat(handed, ",") == "m1,m2,m3",
  table.concat(handed, ","))
-- Those answers are an older server's, with no attachments field: a message still has its list.
check("a message without an attachments field has an empty attachments list", noFiles)

-- JSON null in an answer is nil in the result: json.null is a table, so it is truthy, and every
-- unmerged ticket read as merged. Inside arrays it stays json.null, keeping the positions.
t = scripted({ { status = 200, body = '{"ticket":{"id":"t1","mergedIntoId":null,"tags":["a",null,"b"]},'
  .. '"messages":[{"id":"m1","attachments":[{"id":"f1","expiresAt":null}]}],"cursor":null}' } })
gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = t })
got = nil
gm:getTicket("t1", "p1", function(err, res) got = { err, res } end)
local res = got and got[2]
check("null fields of an answer are nil, at any depth",
  res and res.ticket.mergedIntoId == nil and res.cursor == nil and res.messages[1].attachments[1].expiresAt == nil
    and res.ticket.tags[2] == json.null and #res.ticket.tags == 3, got and got[1])

-- An ended ban or mute is still in the status: isBanned/isMuted say whether it holds now, by the
-- server's flags when there are some, else by the clock (or the `now` given).
local ended, ahead = "2001-01-01T00:00:00.000Z", "9999-12-31T00:00:00.000Z"
check("isBanned follows the server's flag over this clock",
  GameMod.isBanned({ banned = true, bannedUntil = ended }) and not GameMod.isBanned({ banned = false, bannedUntil = ahead })
    and GameMod.isMuted({ muted = true, mutedUntil = ended }) and not GameMod.isMuted({ muted = false, mutedUntil = ahead }))
check("without the flags, an ended ban or mute does not hold; a later one does",
  not GameMod.isBanned({ bannedUntil = ended }) and GameMod.isBanned({ bannedUntil = ahead })
    and not GameMod.isMuted({ mutedUntil = ended }) and GameMod.isMuted({ mutedUntil = ahead })
    and not GameMod.isBanned({ warned = true }) and not GameMod.isBanned(nil))
check("with a time given, isBanned compares with it",
  GameMod.isBanned({ banned = false, bannedUntil = "2030-01-01T00:00:00Z" }, 1893455999)
    and not GameMod.isBanned({ banned = true, bannedUntil = "2030-01-01T01:00:00+01:00" }, 1893456000))

-- The file queue: a crash after the old file went and before the new one took its place left
-- only the .tmp, which load now reads; a save replaces the file in one rename where it can.
do
  local path = os.tmpname()
  os.remove(path)
  local f = assert(io.open(path .. ".tmp", "wb"))
  f:write('{"v":1,"items":[]}')
  f:close()
  local fileStore = GameMod.storage.file(path)
  local recovered = fileStore.load()
  fileStore.save("first")
  fileStore.save("second")
  local tmpLeft = io.open(path .. ".tmp", "rb")
  if tmpLeft then tmpLeft:close() end
  check("the file queue reads a save cut short before its rename, and saves over the old file",
    recovered == '{"v":1,"items":[]}' and fileStore.load() == "second" and not tmpLeft, recovered)
  os.remove(path)
end

-- Roblox locks User-Agent and Roblox-Id: RequestAsync raises on either, so every call failed.
do
  local seen
  local service = { RequestAsync = function(_, r)
    seen = r.Headers
    return { StatusCode = 200, Body = '{"online":3}', Headers = {} }
  end }
  local hadTask = rawget(_G, "task")
  _G.task = { spawn = function(fn) fn() end, delay = function() end }
  gm = GameMod.new({ baseUrl = "http://x", key = "k", transport = GameMod.transports.roblox({ HttpService = service }) })
  got = nil
  gm:onlineCount(function(err, res) got = { err, res } end)
  _G.task = hadTask
  local locked = false
  for k in pairs(seen or {}) do
    local l = string.lower(k)
    if l == "user-agent" or l == "roblox-id" then locked = k end
  end
  check("the Roblox transport leaves out the headers Roblox locks",
    seen and not locked and seen["X-Game-Key"] == "k" and got and got[1] == nil and got[2].online == 3, locked)
end

print(count .. " checks")
os.exit(failures == 0 and 0 or 1)
