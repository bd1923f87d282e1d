-- LÖVE (main.lua) with luasocket: F2 opens a ticket; replies to the player's ticket are polled
-- every 10 seconds. Link codes for Discord come from your game server (the server secret; a
-- client key can name any player): see gmod.lua's !link.
local GameMod = require("gamemod")

local player = { id = "local-player-1", name = "Player One" }
local gm = GameMod.new({
  baseUrl = "http://127.0.0.1:3000",
  key = "gmk_...",
  transport = GameMod.transports.luasocket(),
  storage = GameMod.storage.file(love.filesystem.getSaveDirectory() .. "/gamemod-queue.json"),
})

local status, ticketId, sincePoll = "F2: ask for help", nil, 0

function love.keypressed(key)
  if key == "f2" then
    gm:createTicket({ player = player, subject = "Help from the game", body = "Sent with F2" }, function(err, res)
      if res then ticketId = res.ticket.id end
      status = err and tostring(err) or ("Ticket #" .. res.ticket.number)
    end)
  end
end

function love.update(dt)
  gm:update() -- runs retries and queued sends
  sincePoll = sincePoll + dt
  if ticketId and sincePoll > 10 then
    sincePoll = 0
    gm:pollTicket(ticketId, player.id, function(err, res)
      if res then
        for _, m in ipairs(res.messages) do
          if m.author == "staff" then status = "Staff: " .. m.body end
        end
      end
    end)
  end
end

function love.draw()
  love.graphics.print(status, 10, 10)
end
