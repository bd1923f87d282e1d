// A game server (or tool) in .NET: opens a ticket, waits for staff replies, reports a player.
//     mono ConsoleExample.exe https://support.example.com gms_...
using System;
using System.Threading.Tasks;
using GameMod;

static class ConsoleExample
{
    static int Main(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    static async Task<int> RunAsync(string[] args)
    {
        var client = new GameModClient(new GameModOptions
        {
            BaseUrl = args[0],
            Key = args[1],
            Transport = new HttpClientTransport(),
            Storage = new FileQueueStorage("gamemod-queue.json"),
        });
        client.Retrying += (e, attempt, wait) => Console.WriteLine($"try {attempt} failed ({e.Message}), again in {wait.TotalSeconds:0.0} s");
        var me = new Player("steam:76561198000000000", "Ada");
        try
        {
            var ticket = await client.CreateTicketAsync(new NewTicket
            {
                Player = me, Subject = "Stuck in a wall", Body = "Near the bridge on harbour.",
                Context = new TicketContext { Platform = "pc", Build = "1.4.2", Position = new Position { X = 1, Y = 2, Map = "harbour" } },
            });
            Console.WriteLine($"Ticket #{ticket.Number} opened");
            for (var i = 0; i < 30; i++)
            {
                var thread = await client.PollTicketAsync(ticket.Id, me.Id);
                foreach (var m in thread.Messages)
                    if (m.Author == "staff") Console.WriteLine("Staff: " + m.Body);
                await Task.Delay(TimeSpan.FromSeconds(10));
            }
            await client.ReportPlayerAsync(new PlayerReport
            {
                Reporter = me, Reported = new Player("steam:2", "Mallory"), Reason = ReportReasons.Cheating, Message = "aimbot",
            });
            return 0;
        }
        catch (GameModException e) when (e.Queued)
        {
            Console.WriteLine("Offline: saved, will be sent on the next start.");
            return 0;
        }
        catch (ValidationException e)
        {
            Console.WriteLine("Bad input: " + string.Join(", ", e.FieldPaths));
            return 1;
        }
        catch (AuthException)
        {
            Console.WriteLine("The key is wrong or revoked.");
            return 1;
        }
    }
}
