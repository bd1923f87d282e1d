--[[
GameMod Lua SDK: in-game tickets, replies, player reports, sessions, identity links and
announcements over GameMod's /sdk/v1 API.

One file, no dependencies. Runs on Lua 5.1, LuaJIT, Lua 5.4 and Luau (Roblox): no goto, no
integer division operator, no io or os beyond what each adapter asks for. Every call takes a
callback `function(err, result)`, because game engines are callback-driven.

    local GameMod = require("gamemod")
    local gm = GameMod.new({
      baseUrl = "https://support.example.com",
      key = "gmk_...",                       -- the game's client key (or server secret)
      transport = GameMod.transports.gmod(), -- or fivem(), roblox(), luasocket(), your own
      storage = GameMod.storage.gmod("gamemod_queue.txt"),
    })
    gm:createTicket({ player = { id = "7656...", name = "Ada" }, subject = "Stuck", body = "..." },
      function(err, ticket) ... end)

See README.md for the whole API.
]]

local GameMod = { VERSION = "0.2.0" }

local floor, huge, random = math.floor, math.huge, math.random
local concat, insert, remove = table.concat, table.insert, table.remove
local byte, char, sub, gsub, format, find =
  string.byte, string.char, string.sub, string.gsub, string.format, string.find

---------------------------------------------------------------------------------------------
-- JSON (RFC 8259). Objects and arrays are both Lua tables: a table with a `n`-less sequence
-- 1..#t and no other keys encodes as an array, anything else as an object. An empty table is
-- an object unless wrapped with json.array({}). json.null stands for null in both directions.
---------------------------------------------------------------------------------------------
local json = {}
GameMod.json = json
json.null = setmetatable({}, { __tostring = function() return "null" end })
local ARRAY = {}

function json.array(t)
  return setmetatable(t or {}, { __index = { [ARRAY] = true } })
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
local function escapeChar(c)
  return escapes[c] or format("\\u%04x", byte(c))
end

local function isArray(t)
  local mt = getmetatable(t)
  if mt and type(mt.__index) == "table" and mt.__index[ARRAY] then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local encodeValue
local function encodeNumber(v)
  if v ~= v or v == huge or v == -huge then error("json: cannot encode " .. tostring(v)) end
  if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
    -- Lua 5.1 and LuaJIT 2.0 format %d through a C long, 32 bits on Windows (Garry's Mod): past
    -- 2^31 it comes out garbled. %.0f prints a double's integer exactly up to 2^53.
    if v >= -2 ^ 31 and v < 2 ^ 31 then return format("%d", v) end
    return format("%.0f", v)
  end
  return format("%.17g", v)
end

encodeValue = function(v, out, depth)
  if depth > 64 then error("json: nesting too deep (a cycle?)") end
  local t = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    out[#out + 1] = encodeNumber(v)
  elseif t == "string" then
    out[#out + 1] = '"' .. gsub(v, '[%c"\\]', escapeChar) .. '"'
  elseif t == "table" then
    if isArray(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encodeValue(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      -- Sorted keys: the same table always gives the same text (stable queue files, tests).
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("json: object keys must be strings, got " .. type(k)) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        encodeValue(k, out, depth + 1)
        out[#out + 1] = ":"
        encodeValue(v[k], out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t)
  end
end

function json.encode(v)
  local out = {}
  encodeValue(v, out, 0)
  return concat(out)
end

local function utf8char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
    0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local decodeValue
local function decodeError(s, i, what)
  error(format("json: %s at character %d", what, i), 0)
end
local function skip(s, i)
  local _, e = find(s, "^[ \n\r\t]*", i)
  return e + 1
end

local function decodeString(s, i)
  local parts, j = {}, i + 1
  while true do
    local c = byte(s, j)
    if not c then decodeError(s, j, "unterminated string") end
    if c == 34 then
      return concat(parts), j + 1
    elseif c == 92 then
      local e = sub(s, j + 1, j + 1)
      local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[e]
      if simple then
        parts[#parts + 1] = simple
        j = j + 2
      elseif e == "u" then
        local hex = sub(s, j + 2, j + 5)
        if not find(hex, "^%x%x%x%x$") then decodeError(s, j, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(s, j, j + 1) == "\\u" then
          local lo = tonumber(sub(s, j + 2, j + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            j = j + 6
          end
        end
        parts[#parts + 1] = utf8char(cp)
      else
        decodeError(s, j, "bad escape")
      end
    elseif c < 32 then
      decodeError(s, j, "control character in string")
    else
      local k = find(s, '["\\%c]', j)
      if not k then decodeError(s, j, "unterminated string") end
      parts[#parts + 1] = sub(s, j, k - 1)
      j = k
    end
  end
end

decodeValue = function(s, i, depth)
  if depth > 128 then decodeError(s, i, "nesting too deep") end
  i = skip(s, i)
  local c = sub(s, i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if sub(s, i, i) == "}" then return obj, i + 1 end
    while true do
      if sub(s, i, i) ~= '"' then decodeError(s, i, "expected a key") end
      local k
      k, i = decodeString(s, i)
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then decodeError(s, i, "expected ':'") end
      obj[k], i = decodeValue(s, i + 1, depth + 1)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then decodeError(s, i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr, n = json.array({}), 0
    i = skip(s, i + 1)
    if sub(s, i, i) == "]" then return arr, i + 1 end
    while true do
      n = n + 1
      arr[n], i = decodeValue(s, i, depth + 1)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then decodeError(s, i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decodeString(s, i)
  elseif sub(s, i, i + 3) == "true" then
    return true, i + 4
  elseif sub(s, i, i + 4) == "false" then
    return false, i + 5
  elseif sub(s, i, i + 3) == "null" then
    return json.null, i + 4
  else
    local num = string.match(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not num or num == "" or num == "-" then decodeError(s, i, "unexpected character") end
    local v = tonumber(num)
    if not v then decodeError(s, i, "bad number") end
    return v, i + #num
  end
end

--- Decodes JSON text; returns value, or nil and a message (never throws).
function json.decode(s)
  if type(s) ~= "string" then return nil, "json: expected a string" end
  local ok, v, i = pcall(decodeValue, s, 1, 0)
  if not ok then return nil, v end
  if skip(s, i) <= #s then return nil, format("json: trailing text at character %d", i) end
  return v
end

---------------------------------------------------------------------------------------------
-- Typed errors. Every failure handed to a callback is one of these tables; switch on `type`.
---------------------------------------------------------------------------------------------
local ErrorMT = {}
ErrorMT.__index = ErrorMT
ErrorMT.__tostring = function(e)
  return format("%s: %s%s", e.type, e.message or "", e.status and format(" (HTTP %d)", e.status) or "")
end

GameMod.ERROR_TYPES = {
  "AuthError", "ForbiddenError", "NotFoundError", "ConflictError", "ValidationError",
  "RateLimitError", "ServerError", "NetworkError",
}

local function newError(kind, fields)
  fields.type = kind
  return setmetatable(fields, ErrorMT)
end
GameMod.newError = newError

--- True when `err` is a GameMod error (of `kind`, when given).
function GameMod.isError(err, kind)
  return type(err) == "table" and getmetatable(err) == ErrorMT and (kind == nil or err.type == kind)
end

local byStatus = {
  [400] = "ValidationError", [401] = "AuthError", [403] = "ForbiddenError", [404] = "NotFoundError",
  [409] = "ConflictError", [413] = "ValidationError", [415] = "ValidationError",
  [422] = "ValidationError", [429] = "RateLimitError",
}

--- Retry-After in seconds (RFC 9110 allows a date too; a date is ignored and backoff applies).
local function retryAfterSeconds(headers, body)
  local v = tonumber(headers["retry-after"] or "")
  if v and v >= 0 then return v end
  local d = type(body) == "table" and type(body.error) == "table" and body.error.details
  if type(d) == "table" and tonumber(d.retryAfterSeconds) then return tonumber(d.retryAfterSeconds) end
  return nil
end

-- An answer's null fields become nil: json.null is a table, so it is truthy, and a check such as
-- `if ticket.mergedIntoId then` would hold for every ticket. Array entries stay json.null, so
-- positions and # are kept. json.decode itself still returns json.null (round trips, callers
-- that need to tell null from missing).
local function dropNulls(v, depth)
  if type(v) ~= "table" or depth > 128 then return v end
  local mt = getmetatable(v)
  local array = mt and type(mt.__index) == "table" and mt.__index[ARRAY]
  for k, x in pairs(v) do
    if x == json.null then
      if not array then v[k] = nil end
    else
      dropNulls(x, depth + 1)
    end
  end
  return v
end

-- Turns a transport answer into (err, data). `res` is nil when no answer came at all.
local function classify(res, netErr)
  if not res then
    return newError("NetworkError", { message = tostring(netErr or "no response"), retryable = true })
  end
  local status, text = res.status, res.body or ""
  local data = nil
  if text ~= "" then data = json.decode(text) end
  if status >= 200 and status < 300 or status == 304 then
    if text ~= "" and data == nil then
      return newError("ServerError", { status = status, message = "the answer was not JSON", retryable = false })
    end
    return nil, dropNulls(data, 0)
  end
  local e = type(data) == "table" and type(data.error) == "table" and data.error or {}
  local details = dropNulls(e.details, 0)
  if details == json.null then details = nil end
  local kind = byStatus[status] or (status >= 500 and "ServerError" or "ValidationError")
  local retryable = status == 429 or status == 500 or status == 502 or status == 503 or status == 504
    or (status == 409 and e.code == "conflict")
  return newError(kind, {
    status = status, code = e.code, message = e.message or ("HTTP " .. status), details = details,
    retryAfter = retryAfterSeconds(res.headers or {}, data), retryable = retryable,
  })
end
GameMod._classify = classify

---------------------------------------------------------------------------------------------
-- The client.
---------------------------------------------------------------------------------------------
local Client = {}
Client.__index = Client
GameMod.Client = Client

local QUEUE_KEY_VERSION = 1
local idCounter = 0

-- Idempotency keys must differ across restarts too: the server answers a repeated key with the
-- first result, and an unseeded math.random (Lua 5.1, LuaJIT) repeats its sequence every start.
-- So the key mixes the wall clock, the engine clock, a per-process salt and a counter.
local salt = (function()
  local s, h = tostring({}) .. tostring(os.time()) .. tostring(os.clock()), 0
  for i = 1, #s do h = (h * 31 + byte(s, i)) % 0x7fffffff end
  return h
end)()
local function newId(now)
  idCounter = idCounter + 1
  -- random() draws stay within 16 bits: Lua 5.1's random(m, n) overflows past 2^31 - 1.
  return format("%08x-%04x-%04x-%08x-%04x%04x", os.time() % 0x100000000, floor((now or 0) * 1000) % 0x10000,
    idCounter % 0x10000, salt, random(0, 0xffff), random(0, 0xffff))
end

local function lowerKeys(t)
  local out = {}
  if type(t) == "table" then
    for k, v in pairs(t) do out[string.lower(tostring(k))] = v end
  end
  return out
end
GameMod._lowerKeys = lowerKeys

local function urlEncode(s)
  return (gsub(tostring(s), "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end
GameMod.urlEncode = urlEncode

--- Makes a client. opts: baseUrl, key, transport (required); storage, maxRetries (4),
--- retryBase (0.5 s), retryCap (30 s), maxRetryAfter (60 s: a longer wait gives up or queues),
--- timeout (15 s), maxQueue (200), autoFlush (true), onQueued/onSent/onDropped(item, x),
--- onRetry(err, attempt, waitSeconds) (for logs).
function GameMod.new(opts)
  assert(type(opts) == "table", "GameMod.new: options table required")
  assert(type(opts.baseUrl) == "string", "GameMod.new: baseUrl required")
  assert(type(opts.key) == "string", "GameMod.new: key required")
  local transport = opts.transport
  assert(type(transport) == "table" and type(transport.request) == "function",
    "GameMod.new: transport with a request(req, done) function required")
  local self = setmetatable({
    baseUrl = gsub(opts.baseUrl, "/+$", "") .. "/sdk/v1",
    key = opts.key,
    transport = transport,
    storage = opts.storage or GameMod.storage.memory(),
    maxRetries = opts.maxRetries or 4,
    retryBase = opts.retryBase or 0.5,
    retryCap = opts.retryCap or 30,
    maxRetryAfter = opts.maxRetryAfter or 60,
    timeout = opts.timeout or 15,
    maxQueue = opts.maxQueue or 200,
    onQueued = opts.onQueued, onSent = opts.onSent, onDropped = opts.onDropped, onRetry = opts.onRetry,
    userAgent = "gamemod-lua/" .. GameMod.VERSION,
    _timers = {}, _inflight = 0, _etags = {}, _cursors = {}, _lastIds = {}, _queue = {}, _flushing = false, _flushWaiters = {},
  }, Client)
  self:_loadQueue()
  if opts.autoFlush ~= false and #self._queue > 0 then self:flush() end
  return self
end

function Client:now()
  if self.transport.now then return self.transport.now() end
  return os.time()
end

--- Runs `fn` after `seconds`: on the engine's timer when the transport has one, else on the
--- client's own list, which `update()` runs (call it every frame, e.g. from love.update).
function Client:after(seconds, fn, background)
  if self.transport.delay then
    self.transport.delay(seconds, fn)
    return
  end
  insert(self._timers, { at = self:now() + seconds, fn = fn, background = background })
end

--- Runs the timers that are due. Returns the number of requests still under way.
function Client:update()
  local now, due, keep = self:now(), {}, {}
  for _, t in ipairs(self._timers) do
    if t.at <= now then due[#due + 1] = t else keep[#keep + 1] = t end
  end
  self._timers = keep
  for _, t in ipairs(due) do t.fn() end
  return self:pending()
end

--- Requests in flight or waiting to retry (heartbeat timers are not counted).
function Client:pending()
  local n = self._inflight
  for _, t in ipairs(self._timers) do
    if not t.background then n = n + 1 end
  end
  return n
end

--- For blocking transports (luasocket): runs timers until nothing is pending or `limit` seconds
--- pass, sleeping in between. Engines with their own timers never need this.
function Client:wait(limit)
  local deadline = self:now() + (limit or 120)
  while self:update() > 0 and self:now() < deadline do
    if self.transport.sleep then self.transport.sleep(0.02) end
  end
  return self:pending() == 0
end

function Client:_backoff(attempt, retryAfter)
  local exp = self.retryBase * 2 ^ attempt
  if exp > self.retryCap then exp = self.retryCap end
  -- Half fixed, half jitter: spreads retries of many players without ever retrying at once.
  local wait = exp / 2 + random() * exp / 2
  if retryAfter and retryAfter > wait then wait = retryAfter end
  return wait
end

local function safeCall(cb, ...)
  if cb then
    local ok, e = pcall(cb, ...)
    if not ok then print("[gamemod] a callback failed: " .. tostring(e)) end
  end
end

--- One HTTP exchange with retries. cb(err, data, response).
function Client:request(method, path, body, reqOpts, cb)
  reqOpts = reqOpts or {}
  local headers = {
    ["X-Game-Key"] = self.key, ["Accept"] = "application/json", ["User-Agent"] = self.userAgent,
  }
  local text = nil
  if body ~= nil then
    text = json.encode(body)
    headers["Content-Type"] = "application/json"
  end
  if reqOpts.idempotencyKey then headers["Idempotency-Key"] = reqOpts.idempotencyKey end
  if reqOpts.etag then headers["If-None-Match"] = reqOpts.etag end
  local req = { method = method, url = self.baseUrl .. path, headers = headers, body = text, timeout = self.timeout }
  local maxRetries = reqOpts.maxRetries or self.maxRetries
  -- A 5xx or no answer may come after the server did the work: only a request that can't do it
  -- twice is sent again (a GET, one with an idempotency key, or one marked safe). A 429 is
  -- always retried: the server refused before doing anything.
  local safe = reqOpts.safe
  if safe == nil then safe = method == "GET" or reqOpts.idempotencyKey ~= nil end
  local function try(attempt)
    self._inflight = self._inflight + 1
    local answered = false
    local function done(res, netErr)
      if answered then return end
      answered = true
      self._inflight = self._inflight - 1
      local err, data = classify(res, netErr)
      if err and err.retryable and (safe or err.status == 429) and attempt < maxRetries then
        if not (err.retryAfter and err.retryAfter > self.maxRetryAfter) then
          local wait = self:_backoff(attempt, err.retryAfter)
          safeCall(self.onRetry, err, attempt + 1, wait)
          self:after(wait, function() try(attempt + 1) end)
          return
        end
      end
      if err then err.attempts = attempt + 1 end
      safeCall(cb, err, data, res)
    end
    local ok, thrown = pcall(self.transport.request, req, done)
    if not ok then done(nil, "transport failed: " .. tostring(thrown)) end
  end
  try(0)
end

---------------------------------------------------------------------------------------------
-- The offline queue: creating calls (tickets, replies, reports) that could not be delivered
-- (no network, 5xx, 429 past the retries) wait in storage with their idempotency key and are
-- sent later, in order, at most once each on the server's side.
---------------------------------------------------------------------------------------------
function Client:_loadQueue()
  local ok, text = pcall(self.storage.load)
  if not ok or type(text) ~= "string" or text == "" then return end
  local data = json.decode(text)
  if type(data) == "table" and type(data.items) == "table" then
    for _, item in ipairs(data.items) do
      if type(item) == "table" and type(item.id) == "string" and type(item.path) == "string" then
        insert(self._queue, item)
      end
    end
  end
end

function Client:_saveQueue()
  local ok, e = pcall(self.storage.save, json.encode({ v = QUEUE_KEY_VERSION, items = json.array(self._queue) }))
  if not ok then print("[gamemod] could not save the offline queue: " .. tostring(e)) end
end

function Client:_enqueue(item)
  for _, q in ipairs(self._queue) do
    if q.id == item.id then return true end
  end
  if #self._queue >= self.maxQueue then return false end
  insert(self._queue, item)
  self:_saveQueue()
  safeCall(self.onQueued, item)
  return true
end

--- The queued items (copies of kind, id, path, body).
function Client:queued()
  local out = {}
  for i, q in ipairs(self._queue) do out[i] = q end
  return out
end

--- Sends what the queue holds, oldest first. cb(err, sentCount): err is the failure that
--- stopped the flush (the rest stays queued). Items the server refuses for good (bad input,
--- not found) leave the queue through onDropped(item, err), never silently.
function Client:flush(cb)
  if self._flushing then
    insert(self._flushWaiters, cb or false)
    return
  end
  self._flushing, self._flushWaiters = true, { cb or false }
  local sent = 0
  local function finish(err)
    self._flushing = false
    local waiters = self._flushWaiters
    self._flushWaiters = {}
    for _, w in ipairs(waiters) do
      if w then safeCall(w, err, sent) end
    end
  end
  local function nextItem()
    local item = self._queue[1]
    if not item then return finish(nil) end
    self:request(item.method or "POST", item.path, item.body, { idempotencyKey = item.id }, function(err, data)
      -- Still unreachable, or the key is refused (a game update may bring a new one): keep all.
      if err and (err.retryable or err.type == "AuthError") then return finish(err) end
      remove(self._queue, 1)
      self:_saveQueue()
      if err then
        safeCall(self.onDropped, item, err)
      else
        sent = sent + 1
        safeCall(self.onSent, item, data)
      end
      nextItem()
    end)
  end
  nextItem()
end

function Client:_maybeFlush()
  if #self._queue > 0 and not self._flushing then self:flush() end
end

-- A creating POST: idempotent, queued when it can't be delivered now (unless opts.queue == false).
function Client:_create(kind, path, body, opts, cb)
  local key = opts.idempotencyKey or newId(self:now())
  self:request("POST", path, body, { idempotencyKey = key }, function(err, data)
    if err and err.retryable and opts.queue ~= false then
      local item = { id = key, kind = kind, method = "POST", path = path, body = body, queuedAt = os.time() }
      err.queued = self:_enqueue(item)
      err.queueId = key
    elseif not err then
      self:_maybeFlush()
    end
    safeCall(cb, err, data)
  end)
end

-- A GET that remembers the ETag: a 304 hands back the cached result with changed = false.
function Client:_cachedGet(path, cb)
  local cached = self._etags[path]
  self:request("GET", path, nil, { etag = cached and cached.etag }, function(err, data, res)
    if err then return safeCall(cb, err) end
    if res.status == 304 and cached then return safeCall(cb, nil, cached.data, false) end
    local etag = lowerKeys(res.headers)["etag"]
    if etag then
      -- Each new cursor is a new path: start over past 100 so a long session stays bounded.
      self._etagCount = (self._etagCount or 0) + 1
      if self._etagCount > 100 then self._etags, self._etagCount = {}, 1 end
      self._etags[path] = { etag = etag, data = data }
    end
    safeCall(cb, nil, data, true)
  end)
end

-- Optional options table before the callback: f(a, cb) and f(a, opts, cb) both work.
local function split(opts, cb)
  if type(opts) == "function" then return {}, opts end
  return opts or {}, cb
end

---------------------------------------------------------------------------------------------
-- The API (PROTOCOL.md). Results are the decoded JSON of the answer, its null fields nil.
---------------------------------------------------------------------------------------------

--- Opens a ticket. t: { player = {id, name}, subject, body, category?, context? }.
--- opts: idempotencyKey (default: a new one), queue (default true). cb(err, { ticket }).
function Client:createTicket(t, opts, cb)
  opts, cb = split(opts, cb)
  self:_create("ticket", "/tickets", t, opts, cb)
end

--- The player replies to their ticket. cb(err, { message, ticket }).
function Client:reply(ticketId, player, body, opts, cb)
  opts, cb = split(opts, cb)
  self:_create("reply", "/tickets/" .. urlEncode(ticketId) .. "/replies", { player = player, body = body }, opts, cb)
end

--- Reports a player. r: { reporter, reported, reason, message?, matchId?, evidence? }.
--- cb(err, { report = { id, ticketId, createdAt } }).
function Client:reportPlayer(r, opts, cb)
  opts, cb = split(opts, cb)
  self:_create("report", "/reports", r, opts, cb)
end

--- The player's tickets. opts.since: a cursor. cb(err, { tickets, cursor }, changed).
function Client:listTickets(playerId, opts, cb)
  opts, cb = split(opts, cb)
  local path = "/tickets?playerId=" .. urlEncode(playerId)
  if opts.since then path = path .. "&since=" .. urlEncode(opts.since) end
  self:_cachedGet(path, cb)
end

--- One ticket and its messages. opts.since: a cursor. cb(err, { ticket, messages, cursor }, changed).
--- Each message has `attachments`: { id, filename, contentType, sizeBytes, url } tables (the
--- files staff sent with a reply, the player's own from Discord or email), empty when none.
function Client:getTicket(ticketId, playerId, opts, cb)
  opts, cb = split(opts, cb)
  local path = "/tickets/" .. urlEncode(ticketId) .. "?playerId=" .. urlEncode(playerId)
  if opts.since then path = path .. "&since=" .. urlEncode(opts.since) end
  self:_cachedGet(path, function(err, data, changed)
    -- A server older than attachments sends none: the field is there all the same.
    if data and type(data.messages) == "table" then
      for _, m in ipairs(data.messages) do
        if type(m) == "table" and type(m.attachments) ~= "table" then m.attachments = json.array({}) end
      end
    end
    safeCall(cb, err, data, changed)
  end)
end

--- A download link for a message's file (an entry of `attachments`), valid `expiresInSeconds`
--- (60; nil for a file still only on Discord's CDN): fetch it at once, without the key.
--- cb(err, { url, expiresInSeconds }).
function Client:attachmentLink(attachment, cb)
  local path = type(attachment) == "table" and attachment.url or attachment
  self:request("GET", (gsub(tostring(path), "^/sdk/v1", "")), nil, nil, cb)
end

--- Polls a ticket: the first call returns everything, later calls only new messages (the
--- client keeps the cursor). cb(err, { ticket, messages, cursor }, changed).
--- The server may send a message again (it holds its cursor back while another change is still
--- being written); those sent in the previous answer are not handed out twice.
function Client:pollTicket(ticketId, playerId, cb)
  local since = self._cursors[ticketId]
  self:getTicket(ticketId, playerId, { since = since }, function(err, data, changed)
    if data and type(data.cursor) == "string" then self._cursors[ticketId] = data.cursor end
    if data and changed == false then
      -- A 304: the cached answer's messages were already handed out.
      data = { ticket = data.ticket, messages = json.array({}), cursor = data.cursor }
    elseif data and type(data.messages) == "table" then
      local before, sent, fresh = self._lastIds[ticketId] or {}, {}, json.array({})
      for _, m in ipairs(data.messages) do
        sent[m.id] = true
        if not before[m.id] then fresh[#fresh + 1] = m end
      end
      self._lastIds[ticketId] = sent
      data = { ticket = data.ticket, messages = fresh, cursor = data.cursor }
    end
    safeCall(cb, err, data, changed)
  end)
end

--- Starts a session. opts: platform, build, heartbeat (default true: the client sends the
--- heartbeats until endSession). cb(err, { session = { id, startedAt }, heartbeatSeconds }).
function Client:startSession(player, opts, cb)
  opts, cb = split(opts, cb)
  local body = { player = player, platform = opts.platform, build = opts.build }
  self:request("POST", "/sessions", body, nil, function(err, data)
    if not err and opts.heartbeat ~= false and type(data.session) == "table" then
      local id, every = data.session.id, tonumber(data.heartbeatSeconds) or 60
      self._sessions = self._sessions or {}
      self._sessions[id] = true
      local function beat()
        if not self._sessions[id] then return end
        self:heartbeat(id, function(e)
          if GameMod.isError(e, "NotFoundError") then self._sessions[id] = nil end
        end)
        self:after(every, beat, true)
      end
      self:after(every, beat, true)
    end
    safeCall(cb, err, data)
  end)
end

--- Tells the server the session is still live. cb(err, { ok }).
function Client:heartbeat(sessionId, cb)
  self:request("POST", "/sessions/" .. urlEncode(sessionId) .. "/heartbeat", nil, { safe = true }, cb)
end

--- Ends a session and its heartbeats. cb(err, { ok }).
function Client:endSession(sessionId, cb)
  if self._sessions then self._sessions[sessionId] = nil end
  self:request("POST", "/sessions/" .. urlEncode(sessionId) .. "/end", nil, { safe = true }, cb)
end

--- Players online now in this game. cb(err, { online }).
function Client:onlineCount(cb)
  self:request("GET", "/online", nil, nil, cb)
end

--- A one-time code the player types as /link in Discord. cb(err, { code, expiresAt }).
function Client:createLinkCode(player, cb)
  self:request("POST", "/link-codes", { player = player }, nil, cb)
end

--- Current announcements; polling is cheap (ETag). cb(err, announcements, changed).
function Client:getAnnouncements(cb)
  self:_cachedGet("/announcements", function(err, data, changed)
    safeCall(cb, err, data and data.announcements, changed)
  end)
end

--- [server secret] Publishes an announcement. a: { title, body, expiresAt? }. cb(err, { announcement }).
function Client:publishAnnouncement(a, cb)
  self:request("POST", "/announcements", a, nil, cb)
end

--- [server secret] A player's moderation status. cb(err, { warned, banned, muted, mutedUntil,
--- bannedUntil, reason }). An ended ban or mute is still returned: enforce `banned` and `muted`
--- (whether each holds now by the server's clock), or GameMod.isBanned(status) / isMuted(status).
function Client:getModerationStatus(playerId, cb)
  self:request("GET", "/moderation/" .. urlEncode(playerId), nil, nil, cb)
end

-- Seconds since the epoch of an RFC 3339 time ("2030-01-01T00:00:00.000Z", "...+02:00"), or nil.
-- Computed by hand: os.time(table) reads the table as local time.
local function epochOf(iso)
  if type(iso) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = string.match(iso, "^(%d+)-(%d+)-(%d+)[Tt ](%d+):(%d+):(%d+)%.?%d*(.*)$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  -- Days from 1970-01-01 to the date (the proleptic Gregorian calendar, as RFC 3339 uses).
  if mo <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  local sign, oh, om = string.match(rest, "^([+-])(%d%d):?(%d%d)$")
  if sign then
    local offset = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - offset or t + offset
  elseif rest ~= "Z" and rest ~= "z" and rest ~= "" then
    return nil
  end
  return t
end
GameMod._epochOf = epochOf

local function holdsNow(status, flag, untilField, now)
  if type(status) ~= "table" then return false end
  -- The server's answer, by its own clock: right even when this machine's clock is off.
  if now == nil and type(status[flag]) == "boolean" then return status[flag] end
  -- A server older than the flags: compare with this clock (or the `now` given, epoch seconds).
  local untilAt = epochOf(status[untilField])
  return untilAt ~= nil and untilAt > (now or os.time())
end

--- True while the moderation status (from getModerationStatus) bans the player. An ended ban is
--- still in the status (bannedUntil in the past): don't test bannedUntil alone. `now` (epoch
--- seconds, optional) compares with that time instead of the server's answer.
function GameMod.isBanned(status, now)
  return holdsNow(status, "banned", "bannedUntil", now)
end

--- True while the moderation status mutes the player (as isBanned, for mutedUntil).
function GameMod.isMuted(status, now)
  return holdsNow(status, "muted", "mutedUntil", now)
end

---------------------------------------------------------------------------------------------
-- Transports. A transport is a table with
--   request(req, done): req = { method, url, headers, body (string or nil), timeout };
--     call done({ status, headers, body }) on any HTTP answer, done(nil, message) when none came;
--   delay(seconds, fn) (optional): the engine's timer; without it, call client:update() each frame;
--   now() (optional): seconds, for the client's own timers; sleep(seconds) (optional): for wait().
---------------------------------------------------------------------------------------------
local transports = {}
GameMod.transports = transports

--- Garry's Mod: the HTTP function and timer.Simple (server or client realm).
function transports.gmod()
  return {
    request = function(req, done)
      local headers = {}
      for k, v in pairs(req.headers) do
        -- GMod takes the body's type in `type`; a Content-Type header would be sent twice.
        if string.lower(k) ~= "content-type" then headers[k] = tostring(v) end
      end
      local accepted = HTTP({
        url = req.url, method = req.method, headers = headers, body = req.body,
        type = req.body and "application/json" or nil, timeout = req.timeout,
        success = function(code, body, resHeaders)
          done({ status = code, body = body or "", headers = lowerKeys(resHeaders) })
        end,
        failed = function(reason) done(nil, reason) end,
      })
      if accepted == false then done(nil, "HTTP() refused the request") end
    end,
    delay = function(seconds, fn) timer.Simple(seconds, fn) end,
    now = function() return SysTime() end,
  }
end

--- FiveM / RedM: PerformHttpRequest and SetTimeout (server side).
function transports.fivem()
  return {
    request = function(req, done)
      PerformHttpRequest(req.url, function(status, body, headers, errorData)
        if not status or status == 0 then return done(nil, errorData or "no response") end
        -- Non-2xx answers arrive with body nil and the answer's text in errorData.
        local text = body
        if text == nil and type(errorData) == "string" and sub(errorData, 1, 1) == "{" then text = errorData end
        done({ status = status, body = text or "", headers = lowerKeys(headers) })
      end, req.method, req.body or "", req.headers)
    end,
    delay = function(seconds, fn) SetTimeout(floor(seconds * 1000), fn) end,
    now = function() return GetGameTimer() / 1000 end,
  }
end

--- Roblox: HttpService:RequestAsync in its own task (it yields), task.delay for timers.
--- Server scripts only, with HTTP requests enabled in the game's settings.
--- Roblox sets User-Agent and Roblox-Id itself and refuses the whole call when a script sets
--- either, so they are left out here.
local ROBLOX_LOCKED = { ["user-agent"] = true, ["roblox-id"] = true }
function transports.roblox(opts)
  opts = opts or {}
  local service = opts.HttpService or game:GetService("HttpService")
  return {
    request = function(req, done)
      local headers = {}
      for k, v in pairs(req.headers) do
        if not ROBLOX_LOCKED[string.lower(k)] then headers[k] = v end
      end
      task.spawn(function()
        local ok, res = pcall(function()
          return service:RequestAsync({ Url = req.url, Method = req.method, Headers = headers, Body = req.body })
        end)
        if not ok then return done(nil, tostring(res)) end
        done({ status = res.StatusCode, body = res.Body or "", headers = lowerKeys(res.Headers) })
      end)
    end,
    delay = function(seconds, fn) task.delay(seconds, fn) end,
    now = function() return os.clock() end,
  }
end

--- LÖVE or plain Lua with luasocket (blocking; https needs luasec's ssl.https). Call
--- client:update() from love.update, or client:wait() in a script.
function transports.luasocket(opts)
  opts = opts or {}
  local http = opts.http or require("socket.http")
  local ltn12 = opts.ltn12 or require("ltn12")
  local socket = opts.socket or require("socket")
  return {
    request = function(req, done)
      local sink, headers = {}, {}
      for k, v in pairs(req.headers) do headers[k] = v end
      if req.body then headers["Content-Length"] = tostring(#req.body) end
      local lib = http
      if sub(req.url, 1, 6) == "https:" then lib = opts.https or require("ssl.https") end
      if lib.TIMEOUT ~= nil then lib.TIMEOUT = req.timeout end
      local ok, code, resHeaders = lib.request({
        url = req.url, method = req.method, headers = headers,
        source = req.body and ltn12.source.string(req.body) or nil,
        sink = ltn12.sink.table(sink),
      })
      if not ok or type(code) ~= "number" then return done(nil, tostring(code)) end
      done({ status = code, body = concat(sink), headers = lowerKeys(resHeaders) })
    end,
    now = socket.gettime,
    sleep = socket.sleep,
  }
end

---------------------------------------------------------------------------------------------
-- Storage for the offline queue: a table with load() -> string|nil and save(string).
---------------------------------------------------------------------------------------------
local storage = {}
GameMod.storage = storage

--- Kept in memory only: the queue survives network outages, not restarts.
function storage.memory()
  local value
  return { load = function() return value end, save = function(s) value = s end }
end

--- A file, through io (plain Lua, LÖVE's io, a FiveM resource with io). Written to a
--- temporary file first, so a crash mid-write never leaves half a queue.
function storage.file(path)
  local tmp = path .. ".tmp"
  local function read(p)
    local f = io.open(p, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
  end
  return {
    -- Without the file, a .tmp is a whole save whose rename never came (see save); a save cut
    -- short mid-write is not JSON and the queue starts empty, as it would have anyway.
    load = function() return read(path) or read(tmp) end,
    save = function(s)
      local f = assert(io.open(tmp, "wb"))
      f:write(s)
      f:close()
      -- One rename replaces the file on POSIX, so the queue is never missing. Windows refuses
      -- to rename onto an existing file: remove it first, and load finds the .tmp if a crash
      -- comes in between.
      if not os.rename(tmp, path) then
        os.remove(path)
        assert(os.rename(tmp, path))
      end
    end,
  }
end

--- Garry's Mod: a file under garrysmod/data.
function storage.gmod(name)
  return {
    load = function() return file.Read(name, "DATA") end,
    save = function(s) file.Write(name, s) end,
  }
end

--- FiveM: the resource's key-value store.
function storage.fivem(key)
  key = key or "gamemod:queue"
  return {
    load = function() return GetResourceKvpString(key) end,
    save = function(s) SetResourceKvp(key, s) end,
  }
end

--- Roblox: a DataStore (server only; each call yields, so create the client inside a task).
function storage.roblox(dataStore, key)
  key = key or "gamemod-queue"
  return {
    load = function() return dataStore:GetAsync(key) end,
    save = function(s) dataStore:SetAsync(key, s) end,
  }
end

-- FiveM and RedM run the files fxmanifest.lua lists as plain scripts sharing one environment,
-- with no require for resource files: there the SDK is the global GameMod for the scripts
-- listed after it.
if type(GetCurrentResourceName) == "function" then _G.GameMod = GameMod end

return GameMod
