--[[
The Lua SDK's own test program, run against a real GameMod API:

    lua run.lua <config.json>

config: { baseUrl, clientKey, serverSecret, deadUrl (nothing listens), flakyUrl (answers 429
with Retry-After: 1 to the first try of each Idempotency-Key, then forwards), limitedUrl (the
same API with a per-player rate limit of 2 burst, 60/min), queueFile,
adapter ("luasocket" | "gmod" | "fivem" | "roblox"), runId, staffFile? { ticketId, playerId,
messageId, attachmentId, filename, contentType, sizeBytes }: a ticket whose staff reply carries
a file }.
Prints one line per check and, last, "RESULT <json>" with ids for the caller to check in the
database. Exits 1 when a check failed.
]]
local here = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
package.path = here .. "/../?.lua;" .. here .. "/?.lua;" .. package.path

local GameMod = require("gamemod")
local Fakes = require("fakes")
local socket = require("socket")
local json = GameMod.json
local unpack = table.unpack or unpack

local function readFile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end
local cfg = assert(json.decode(readFile(assert(arg[1], "usage: run.lua config.json"))))

local failures, results = 0, { adapter = cfg.adapter, lua = _VERSION .. (jit and (" " .. jit.version) or "") }
local function check(name, ok, detail)
  if ok then
    print("ok   " .. name)
  else
    failures = failures + 1
    print("FAIL " .. name .. (detail and (": " .. tostring(detail)) or ""))
  end
  return ok
end

local function transport()
  if cfg.adapter == "luasocket" then return GameMod.transports.luasocket() end
  if cfg.adapter == "gmod" then Fakes.installGmod(); return GameMod.transports.gmod() end
  if cfg.adapter == "fivem" then Fakes.installFivem(); return GameMod.transports.fivem() end
  if cfg.adapter == "roblox" then Fakes.installRoblox(); return GameMod.transports.roblox() end
  error("unknown adapter " .. tostring(cfg.adapter))
end
local T = transport()

local clients = {}
local function client(opts)
  opts.transport = opts.transport or T
  opts.baseUrl = opts.baseUrl or cfg.baseUrl
  local c = GameMod.new(opts)
  clients[#clients + 1] = c
  return c
end

local function pump()
  Fakes.pump()
  for _, c in ipairs(clients) do c:update() end
  socket.sleep(0.002)
end

-- Runs an SDK call and pumps the engine until its callback comes; returns the callback's values.
local function await(start, limit)
  local got
  start(function(...) got = { n = select("#", ...), ... } end)
  local deadline = socket.gettime() + (limit or 30)
  while not got and socket.gettime() < deadline do pump() end
  if not got then error("no callback within " .. (limit or 30) .. " s", 2) end
  return unpack(got, 1, got.n)
end

local function has(list, pred)
  for _, v in ipairs(list or {}) do
    if pred(v) then return true end
  end
  return false
end

local run = cfg.runId
local P = { id = "player-" .. run, name = "Ada " .. run }
local Q = { id = "cheater-" .. run, name = "Mallory" }
local gm = client({ key = cfg.clientKey })
local srv = client({ key = cfg.serverSecret })

-- Tickets with player context, idempotent on the client's key.
local key1 = "ticket-" .. run
local err, r = await(function(cb)
  gm:createTicket({
    player = P, subject = "Stuck in a wall " .. run, body = "I fell through the map near the bridge.",
    context = {
      platform = "pc", build = "1.4.2", region = "eu-west", server = "eu-1", matchId = "match-" .. run,
      position = { x = 12.5, y = -3, z = 40, map = "harbour" }, locale = "en-GB",
      custom = { mode = "ranked", party = json.array({ "a", "b" }) }, log = "12:00 load harbour\n12:01 fell",
    },
  }, { idempotencyKey = key1 }, cb)
end)
check("createTicket", not err and r.ticket and r.ticket.id and r.ticket.status == "open", err or json.encode(r))
local ticket = r and r.ticket or {}
results.ticketId = ticket.id
check("an unmerged ticket's mergedIntoId is nil (JSON null)", r and r.ticket and r.ticket.mergedIntoId == nil,
  r and r.ticket and tostring(r.ticket.mergedIntoId))

err, r = await(function(cb)
  gm:createTicket({ player = P, subject = "Stuck in a wall " .. run, body = "again" }, { idempotencyKey = key1 }, cb)
end)
check("createTicket repeated with its key gives the same ticket", not err and r.ticket.id == ticket.id, err)

err, r = await(function(cb) gm:reply(ticket.id, P, "Still stuck, any news?", cb) end)
check("reply", not err and r.message and r.message.author == "player", err)
local replyId = r and r.message and r.message.id

err, r = await(function(cb) gm:pollTicket(ticket.id, P.id, cb) end)
check("pollTicket: first poll has the reply", not err and has(r.messages, function(m) return m.id == replyId end), err)
err, r = await(function(cb) gm:pollTicket(ticket.id, P.id, cb) end)
check("pollTicket: nothing new", not err and #r.messages == 0 and r.ticket.id == ticket.id, err or json.encode(r))

err, r = await(function(cb) gm:listTickets(P.id, cb) end)
check("listTickets", not err and has(r.tickets, function(t) return t.id == ticket.id end) and type(r.cursor) == "string", err)

err, r = await(function(cb) gm:getTicket(ticket.id, Q.id, cb) end)
check("another player's ticket is NotFoundError", GameMod.isError(err, "NotFoundError"), err)

-- A file staff sent with a reply (the caller made the ticket, the reply and the file).
if cfg.staffFile then
  local f = cfg.staffFile
  err, r = await(function(cb) gm:getTicket(f.ticketId, f.playerId, cb) end)
  local msgs = (not err and r and r.messages) or {}
  local sent, opening
  for _, m in ipairs(msgs) do
    if m.id == f.messageId then sent = m elseif m.author == "player" then opening = m end
  end
  local a = sent and sent.attachments and sent.attachments[1]
  check("a staff reply's file is on its message",
    a and a.id == f.attachmentId and a.filename == f.filename and a.contentType == f.contentType
      and a.sizeBytes == f.sizeBytes and type(a.url) == "string" and #sent.attachments == 1,
    err or json.encode(r))
  check("a message without files has an empty attachments list",
    opening and type(opening.attachments) == "table" and #opening.attachments == 0, err or json.encode(r))
  err, r = await(function(cb) gm:attachmentLink(a, cb) end)
  check("attachmentLink gives a short-lived download link",
    not err and type(r.url) == "string" and r.url:find("/v1/files/" .. f.attachmentId .. "?token=", 1, true)
      and r.expiresInSeconds == 60, err or json.encode(r))
end

-- Player reports.
err, r = await(function(cb)
  gm:reportPlayer({
    reporter = P, reported = Q, reason = "cheating", message = "aimbot " .. run, matchId = "match-" .. run,
    evidence = { kills = 31, headshots = 30 },
  }, cb)
end)
check("reportPlayer", not err and r.report and r.report.ticketId, err)
results.reportTicketId = r and r.report and r.report.ticketId

err = await(function(cb) gm:reportPlayer({ reporter = P, reported = Q, reason = "bogus" }, cb) end)
check("bad input is ValidationError naming the field, not queued",
  GameMod.isError(err, "ValidationError") and err.status == 422 and type(err.details) == "table"
    and #err.details > 0 and not err.queued and #gm:queued() == 0, err)

-- Sessions and the online count.
err, r = await(function(cb) gm:startSession(P, { platform = "pc", build = "1.4.2", heartbeat = false }, cb) end)
check("startSession", not err and r.session and r.session.id and tonumber(r.heartbeatSeconds), err)
local sessionId = r and r.session and r.session.id
err, r = await(function(cb) gm:heartbeat(sessionId, cb) end)
check("heartbeat", not err and r.ok == true, err)
err, r = await(function(cb) gm:onlineCount(cb) end)
check("onlineCount counts the session", not err and tonumber(r.online) and r.online >= 1, err)
err, r = await(function(cb) gm:endSession(sessionId, cb) end)
check("endSession", not err and r.ok == true, err)
err = await(function(cb) gm:heartbeat(sessionId, cb) end)
check("heartbeat after the end is NotFoundError", GameMod.isError(err, "NotFoundError"), err)

-- Identity linking.
err, r = await(function(cb) srv:createLinkCode(P, cb) end)
check("createLinkCode (server secret)", not err and type(r.code) == "string" and r.code:match("^[A-Z2-9]+$") and #r.code == 8, err)

-- Announcements: published with the server secret, read by the client with an ETag.
local title = "Maintenance " .. run
err, r = await(function(cb) srv:publishAnnouncement({ title = title, body = "Servers restart at 04:00." }, cb) end)
check("publishAnnouncement (server secret)", not err and r.announcement and r.announcement.id, err)
local list, changed
err, list, changed = await(function(cb) gm:getAnnouncements(cb) end)
check("getAnnouncements", not err and changed and has(list, function(a) return a.title == title end), err)
err, list, changed = await(function(cb) gm:getAnnouncements(cb) end)
check("getAnnouncements again: 304, cached list", not err and changed == false and has(list, function(a) return a.title == title end), err)
err = await(function(cb) gm:publishAnnouncement({ title = "x", body = "y" }, cb) end)
check("a client key can't publish: ForbiddenError", GameMod.isError(err, "ForbiddenError"), err)

-- Moderation status for game servers.
err, r = await(function(cb) srv:getModerationStatus(Q.id, cb) end)
check("getModerationStatus (server secret)", not err and r.warned == false and r.bannedUntil == nil
  and r.banned == false and r.muted == false and not GameMod.isBanned(r), err)
err = await(function(cb) gm:getModerationStatus(Q.id, cb) end)
check("getModerationStatus with a client key: ForbiddenError", GameMod.isError(err, "ForbiddenError"), err)

-- A wrong key: AuthError at once, nothing queued.
local bad = client({ key = "gmk_00000000_" .. string.rep("A", 43) })
err = await(function(cb) bad:createTicket({ player = P, subject = "x", body = "y" }, cb) end)
check("bad key: AuthError, not retried, not queued",
  GameMod.isError(err, "AuthError") and err.status == 401 and err.attempts == 1 and not err.queued and #bad:queued() == 0, err)

-- 429: the flaky proxy refuses the first try with Retry-After: 1; the SDK waits, then succeeds.
local flaky = client({ key = cfg.clientKey, baseUrl = cfg.flakyUrl })
local t0 = socket.gettime()
err, r = await(function(cb)
  flaky:reportPlayer({ reporter = P, reported = Q, reason = "spam", message = "429 " .. run }, { idempotencyKey = "flaky-" .. run }, cb)
end)
local waited = socket.gettime() - t0
check("429 then success after Retry-After", not err and r.report and waited >= 1, (err or "") .. " waited " .. waited)
results.retryWaitedSeconds = waited

-- 429 from the real server: its per-player bucket there holds 2 requests and refills 1 a second.
local retries = {}
local limited = client({ key = cfg.clientKey, baseUrl = cfg.limitedUrl,
  onRetry = function(e, attempt, wait) retries[#retries + 1] = { type = e.type, retryAfter = e.retryAfter, wait = wait } end })
local R = { id = "busy-" .. run, name = "Busy" }
local allOk = true
t0 = socket.gettime()
for _ = 1, 4 do
  err = await(function(cb) limited:listTickets(R.id, cb) end)
  if err then allOk = false end
end
waited = socket.gettime() - t0
check("the server's 429: retried after its Retry-After, then answered",
  allOk and #retries >= 1 and retries[1].type == "RateLimitError" and retries[1].retryAfter
    and retries[1].wait >= retries[1].retryAfter and waited >= 0.5, json.encode(retries) .. " waited " .. waited)
results.serverRateLimitRetries = #retries

-- Server down: calls are queued in storage, and a later client (next game start) sends them.
local store = GameMod.storage.file(cfg.queueFile)
local down = client({ key = cfg.clientKey, baseUrl = cfg.deadUrl, storage = store, maxRetries = 1, retryBase = 0.05 })
err = await(function(cb)
  down:reportPlayer({ reporter = P, reported = Q, reason = "griefing", message = "offline " .. run }, cb)
end)
check("server down: NetworkError, queued", GameMod.isError(err, "NetworkError") and err.queued == true, err)
err = await(function(cb)
  down:createTicket({ player = P, subject = "Offline ticket " .. run, body = "sent from the queue" }, cb)
end)
check("second call queued too", GameMod.isError(err, "NetworkError") and err.queued and #down:queued() == 2, err)
local stored = json.decode(readFile(cfg.queueFile))
check("the queue is in storage", stored and #stored.items == 2)

local sentItems = {}
local later = client({ key = cfg.clientKey, storage = GameMod.storage.file(cfg.queueFile), autoFlush = false,
  onSent = function(item, data) sentItems[#sentItems + 1] = { kind = item.kind, data = data } end })
check("a new client loads the queue", #later:queued() == 2)
local sent
err, sent = await(function(cb) later:flush(cb) end)
check("flush sends the queue in order", not err and sent == 2 and #sentItems == 2 and sentItems[1].kind == "report"
  and sentItems[2].kind == "ticket", err)
check("the stored queue is empty", #json.decode(readFile(cfg.queueFile)).items == 0)
results.queuedReportTicketId = sentItems[1] and sentItems[1].data.report.ticketId
results.queuedTicketId = sentItems[2] and sentItems[2].data.ticket.id

print("RESULT " .. json.encode(results))
os.exit(failures == 0 and 0 or 1)
