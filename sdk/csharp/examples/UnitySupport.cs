// Unity: put src/ and unity/ under Assets/GameMod/, add this component to a GameObject, and
// call OpenTicket from your support form's button. Requests run on the main thread.
using System;
using GameMod;
using GameMod.Unity;
using UnityEngine;

public class UnitySupport : MonoBehaviour
{
    public string serverUrl = "https://support.example.com";
    public string clientKey = "gmk_...";
    GameModClient client;

    void Awake()
    {
        client = new GameModClient(new GameModOptions
        {
            BaseUrl = serverUrl,
            Key = clientKey,
            Transport = new UnityWebRequestTransport(),
            Storage = new PlayerPrefsQueueStorage(),
        });
        _ = client.FlushAsync(); // whatever an earlier session could not send
    }

    public async void OpenTicket(string playerId, string playerName, string text)
    {
        try
        {
            var ticket = await client.CreateTicketAsync(new NewTicket
            {
                Player = new Player(playerId, playerName), Subject = text.Length > 80 ? text.Substring(0, 80) : text, Body = text,
                Context = new TicketContext { Platform = Application.platform.ToString(), Build = Application.version },
            });
            Debug.Log("Ticket #" + ticket.Number + " opened");
        }
        catch (GameModException e) when (e.Queued)
        {
            Debug.Log("Offline: the ticket is saved and will be sent later");
        }
        catch (GameModException e)
        {
            Debug.Log("Could not open a ticket: " + e.Message);
        }
    }
}
