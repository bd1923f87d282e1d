-- Roblox (a Script in ServerScriptService, gamemod.lua as a ModuleScript named GameMod in
-- ReplicatedStorage). Turn on HTTP requests in Game Settings > Security.
local GameMod = require(game:GetService("ReplicatedStorage"):WaitForChild("GameMod"))
local Players = game:GetService("Players")

local gm = GameMod.new({
  baseUrl = "https://support.example.com",
  key = "gms_...",
  transport = GameMod.transports.roblox(),
})

local sessions = {}

Players.PlayerAdded:Connect(function(player)
  local me = { id = tostring(player.UserId), name = player.Name }
  gm:startSession(me, { platform = "roblox", build = tostring(game.PlaceVersion) }, function(err, res)
    if not err then sessions[player.UserId] = res.session.id end
  end)
end)

Players.PlayerRemoving:Connect(function(player)
  local id = sessions[player.UserId]
  if id then
    sessions[player.UserId] = nil
    gm:endSession(id, function() end)
  end
end)

-- A RemoteEvent the client fires with the text of a support request.
local remote = Instance.new("RemoteEvent")
remote.Name = "OpenTicket"
remote.Parent = game:GetService("ReplicatedStorage")
remote.OnServerEvent:Connect(function(player, text)
  gm:createTicket({
    player = { id = tostring(player.UserId), name = player.Name },
    subject = string.sub(text, 1, 80), body = text,
    context = { platform = "roblox", server = game.JobId, locale = player.LocaleId },
  }, function(err, res)
    remote:FireClient(player, err and err.message or ("Ticket #" .. res.ticket.number .. " opened"))
  end)
end)
