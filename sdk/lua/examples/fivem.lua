-- FiveM (server script). fxmanifest.lua lists gamemod.lua before this file:
--   fx_version "cerulean"
--   game "gta5"
--   server_scripts { "gamemod.lua", "server.lua" }
-- FiveM runs both as scripts in one environment (no require for resource files), where
-- gamemod.lua makes the global GameMod. /report <server id> <reason> <text> reports a player.
local GameMod = GameMod

local gm = GameMod.new({
  baseUrl = GetConvar("gamemod_url", "https://support.example.com"),
  key = GetConvar("gamemod_server_secret", ""),
  transport = GameMod.transports.fivem(),
  storage = GameMod.storage.fivem("gamemod:queue"),
})

local function playerOf(src)
  return { id = GetPlayerIdentifierByType(src, "license") or tostring(src), name = GetPlayerName(src) }
end

RegisterCommand("report", function(src, args)
  local target, reason = tonumber(args[1]), args[2] or "other"
  if not target then return end
  gm:reportPlayer({
    reporter = playerOf(src),
    reported = playerOf(target),
    reason = reason,
    message = table.concat(args, " ", 3),
  }, function(err)
    local text = err and (err.queued and "Report saved; it will be sent shortly." or ("Report failed: " .. err.message))
      or "Thanks, the moderators have your report."
    TriggerClientEvent("chat:addMessage", src, { args = { "Support", text } })
  end)
end, false)

-- Announcements every minute (a 304 costs almost nothing).
CreateThread(function()
  while true do
    gm:getAnnouncements(function(err, list, changed)
      if not err and changed then
        for _, a in ipairs(list) do
          TriggerClientEvent("chat:addMessage", -1, { args = { a.title, a.body } })
        end
      end
    end)
    Wait(60000)
  end
end)
