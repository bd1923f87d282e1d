--[[
Fake engine globals for the SDK's adapter tests: Garry's Mod (HTTP, timer, SysTime, file),
FiveM (PerformHttpRequest, SetTimeout, GetGameTimer, resource KVP) and Roblox (game,
HttpService, task). Requests really go out over luasocket, so each adapter talks to a real
server; answers and timers are delivered on a later pump() call, as an engine delivers them on
a later frame, so an adapter that expects a synchronous answer fails here as it would in game.
]]
local http = require("socket.http")
local ltn12 = require("ltn12")
local socket = require("socket")

local Fakes = { log = {} }
local due = {}

local function later(seconds, fn)
  due[#due + 1] = { at = socket.gettime() + (seconds or 0), fn = fn }
end

--- Runs the callbacks and timers that are due; returns how many ran.
function Fakes.pump()
  local now, ready, keep = socket.gettime(), {}, {}
  for _, d in ipairs(due) do
    if d.at <= now then ready[#ready + 1] = d else keep[#keep + 1] = d end
  end
  due = keep
  for _, d in ipairs(ready) do d.fn() end
  return #ready
end

-- One real exchange: returns status, body, headers (lower-case names) or nil, message.
local function exchange(method, url, headers, body)
  assert(type(method) == "string" and type(url) == "string", "method and url must be strings")
  local sink, h = {}, {}
  for k, v in pairs(headers or {}) do
    assert(type(k) == "string" and type(v) == "string", "header names and values must be strings")
    h[k] = v
  end
  if body and body ~= "" then h["Content-Length"] = tostring(#body) end
  local ok, code, resHeaders = http.request({
    url = url, method = method, headers = h,
    source = body and body ~= "" and ltn12.source.string(body) or nil, sink = ltn12.sink.table(sink),
  })
  Fakes.log[#Fakes.log + 1] = method .. " " .. url
  if not ok or type(code) ~= "number" then return nil, tostring(code) end
  return code, table.concat(sink), resHeaders or {}
end

--- Garry's Mod: HTTP(parameters) with success(code, body, headers) / failed(reason).
function Fakes.installGmod()
  local files = {}
  _G.HTTP = function(p)
    assert(type(p) == "table" and type(p.url) == "string", "HTTP: url required")
    if p.body and not p.type then error("HTTP: a body needs its type") end
    local headers = {}
    for k, v in pairs(p.headers or {}) do headers[k] = v end
    if p.body then headers["Content-Type"] = p.type end
    local code, body, resHeaders = exchange(p.method or "GET", p.url, headers, p.body)
    later(0, function()
      if code then p.success(code, body, resHeaders) else p.failed("unsuccessful") end
    end)
    return true
  end
  _G.timer = { Simple = function(seconds, fn) later(seconds, fn) end }
  _G.SysTime = socket.gettime
  _G.file = {
    Read = function(name, path) assert(path == "DATA"); return files[name] end,
    Write = function(name, s) files[name] = s end,
  }
end

--- FiveM: PerformHttpRequest(url, cb(status, body, headers, errorData), method, data, headers).
function Fakes.installFivem()
  local kvp = {}
  _G.PerformHttpRequest = function(url, cb, method, data, headers)
    assert(type(cb) == "function", "PerformHttpRequest: callback required")
    local code, body, resHeaders = exchange(method or "GET", url, headers, data ~= "" and data or nil)
    later(0, function()
      if not code then return cb(0, nil, {}, "connection failed") end
      -- As FiveM does: a non-2xx answer's text comes in errorData, body is nil.
      if code >= 400 then return cb(code, nil, resHeaders, body) end
      cb(code, body, resHeaders, nil)
    end)
  end
  _G.SetTimeout = function(ms, fn) later(ms / 1000, fn) end
  _G.GetGameTimer = function() return math.floor(socket.gettime() * 1000) end
  _G.GetCurrentResourceName = function() return "gamemod-test" end
  _G.GetResourceKvpString = function(k) return kvp[k] end
  _G.SetResourceKvp = function(k, v) kvp[k] = v end
end

-- Luau, LuaJIT and Lua 5.2+ can yield inside pcall; Lua 5.1 can't, so there the fake answers
-- within the call instead of on a later pump (still inside the task, which it checks).
Fakes.yieldAcrossPcall = coroutine.wrap(function()
  local ok = pcall(coroutine.yield, true)
  return ok
end)() == true

--- Roblox: HttpService:RequestAsync (yields, so only inside a task), task.spawn and task.delay.
function Fakes.installRoblox()
  local HttpService = {}
  function HttpService:RequestAsync(r)
    assert(self == HttpService, "RequestAsync must be called with ':'")
    local co, isMain = coroutine.running()
    if co == nil or isMain then error("RequestAsync yields: call it inside a task", 2) end
    assert(type(r.Url) == "string" and type(r.Method) == "string", "Url and Method required")
    if r.Method == "GET" and r.Body then error("GET requests cannot have a body") end
    -- Roblox locks these two: setting either fails the whole call (HttpService:RequestAsync docs).
    for k in pairs(r.Headers or {}) do
      local l = string.lower(k)
      if l == "user-agent" or l == "roblox-id" then error('Header "' .. k .. '" is not allowed!') end
    end
    local code, body, resHeaders = exchange(r.Method, r.Url, r.Headers, r.Body)
    if Fakes.yieldAcrossPcall then coroutine.yield() end
    if not code then error("HttpError: ConnectFail") end
    return { Success = code >= 200 and code < 300, StatusCode = code, StatusMessage = "", Headers = resHeaders, Body = body }
  end
  local function resume(co)
    local ok, e = coroutine.resume(co)
    if not ok then error(e) end
    if coroutine.status(co) == "suspended" then later(0, function() resume(co) end) end
  end
  _G.task = {
    spawn = function(fn) resume(coroutine.create(fn)) end,
    delay = function(seconds, fn) later(seconds, function() resume(coroutine.create(fn)) end) end,
  }
  _G.game = { GetService = function(_, name) assert(name == "HttpService"); return HttpService end }
end

return Fakes
