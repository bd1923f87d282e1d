-- Garry's Mod (server realm): lua/autorun/server/gamemod_support.lua, with gamemod.lua next
-- to it as lua/gamemod.lua. Players type !support <text> in chat to open a ticket, and !link for
-- a code that links their Steam account to Discord (the server vouches for the SteamID).
local GameMod = include("gamemod.lua")

local gm = GameMod.new({
  baseUrl = "https://support.example.com",
  key = "gms_...", -- the server secret: this runs on the game server
  transport = GameMod.transports.gmod(),
  storage = GameMod.storage.gmod("gamemod_queue.txt"),
})

hook.Add("PlayerSay", "GameModSupport", function(ply, text)
  local body = string.match(text, "^!support%s+(.+)$")
  if not body then return end
  gm:createTicket({
    player = { id = ply:SteamID64(), name = ply:Nick() },
    subject = string.sub(body, 1, 80),
    body = body,
    context = { platform = "gmod", server = GetHostName(), build = VERSIONSTR, position = {
      x = ply:GetPos().x, y = ply:GetPos().y, z = ply:GetPos().z, map = game.GetMap(),
    } },
  }, function(err, res)
    if err and err.queued then
      ply:ChatPrint("Support is unreachable right now; your ticket will be sent automatically.")
    elseif err then
      ply:ChatPrint("Could not open a ticket: " .. err.message)
    else
      ply:ChatPrint("Ticket #" .. res.ticket.number .. " opened. Staff will answer here.")
    end
  end)
  return ""
end)

hook.Add("PlayerSay", "GameModLink", function(ply, text)
  if text ~= "!link" then return end
  gm:createLinkCode({ id = ply:SteamID64(), name = ply:Nick() }, function(err, res)
    if err then
      ply:ChatPrint("Could not make a link code: " .. err.message)
    else
      ply:ChatPrint("Type /link code:" .. res.code .. " in our Discord within 10 minutes.")
    end
  end)
  return ""
end)

-- Kick banned players when they join. An ended ban is still in the status (bannedUntil in the
-- past): isBanned asks whether it holds now, by the server's clock.
hook.Add("PlayerInitialSpawn", "GameModModeration", function(ply)
  gm:getModerationStatus(ply:SteamID64(), function(err, status)
    if not err and GameMod.isBanned(status) then ply:Kick("Banned: " .. (status.reason or "see the studio's Discord")) end
  end)
end)
