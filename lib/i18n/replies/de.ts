import type { enReplies } from './en.js';

/** Deutsch: Antworten des Bots und Hinweise für das Team (Schlüssel wie in `en.ts`). */
export const deReplies: Record<keyof typeof enReplies, string> = {
  'error.notAccepted': 'Das wird nicht angenommen: {reasons}',
  'error.unavailable':
    'Der Dienst ist kurz nicht erreichbar; bitte versuch es gleich noch einmal. (Anfrage-ID `{requestId}`)',
  'error.missingPermission':
    'Mir fehlt dafür eine Discord-Berechtigung ({detail}). Ein Admin kann die Berechtigungen meiner Rolle anpassen. (Anfrage-ID `{requestId}`)',
  'error.channelGone': 'Der Kanal des Tickets existiert auf Discord nicht mehr. (Anfrage-ID `{requestId}`)',
  'error.discordInvalid':
    'Discord hat die Anfrage als ungültig abgelehnt ({detail}). (Anfrage-ID `{requestId}`)',
  'error.discordTrouble':
    'Discord hat gerade Probleme; bitte versuch es noch einmal. (Anfrage-ID `{requestId}`)',
  'error.generic':
    'Bei uns ist etwas schiefgelaufen. Bitte versuch es noch einmal; passiert es wieder, gib dem Team diese Anfrage-ID: `{requestId}`',
  'error.nul': 'Der Text darf kein NUL-Zeichen (U+0000) enthalten; entferne es und versuch es noch einmal.',
  'error.staleButton': 'Dieser Button ist nicht mehr gültig.',
  'refuse.notSetUp':
    'Dieser Server ist noch nicht mit GameMod eingerichtet. Ein Server-Admin führt zuerst `/setup link` (mit einem Code aus dem Panel) oder `/setup create` aus.',
  'refuse.inServer': 'GameMod-Befehle funktionieren auf einem Server, nicht in Direktnachrichten.',
  'refuse.runInTicket': 'Führ das in einem Ticket-Thread oder -Kanal aus.',
  'refuse.notTicket': 'Das ist kein Ticket-Thread oder -Kanal. Führ es in einem Ticket aus.',
  'refuse.permission':
    'Dafür brauchst du die Berechtigung `{permission}`. Bitte einen Admin, eine deiner Discord-Rollen einer GameMod-Rolle zuzuordnen, die sie hat.',
  'refuse.closePermission':
    'Nur Teammitglieder mit der Berechtigung `tickets.close` oder der Ersteller des Tickets können es schließen.',
  'refuse.alreadyClosed': 'Ticket #{number} ist bereits geschlossen.',
  'refuse.commentTooLong': 'Der Kommentar ist zu lang: höchstens 1.000 Zeichen.',
  'refuse.reasonTooLong': 'Der Grund ist zu lang: höchstens 500 Zeichen.',
  'refuse.ticketGone': 'Dieses Ticket gibt es nicht mehr.',
  'refuse.noChannel': 'Dieses Ticket hat keinen Discord-Kanal.',
  'open.blocked':
    'Du kannst hier keine Tickets eröffnen. Wende dich an das Team des Servers, wenn du das für einen Fehler hältst.',
  'open.blockedReason':
    'Du kannst hier keine Tickets eröffnen: {reason}. Wende dich an das Team des Servers, wenn du das für einen Fehler hältst.',
  'open.limitOne':
    'Du hast schon 1 offenes Ticket (hier sind höchstens {max} erlaubt). Schreib bitte dort weiter oder warte, bis das Team es schließt.',
  'open.limitMany':
    'Du hast schon {open} offene Tickets (hier sind höchstens {max} erlaubt). Schreib bitte in einem davon weiter oder warte, bis das Team eines schließt.',
  'open.cooldown': 'Bitte warte {seconds} s, bevor du ein weiteres Ticket eröffnest.',
  'open.inProgress': 'Dein vorheriges Ticket wird gerade noch eröffnet; einen Moment bitte.',
  'open.categoryArchived': 'Diese Ticket-Kategorie wird nicht mehr angeboten.',
  'open.categoryGone':
    'Diese Ticket-Kategorie gibt es nicht mehr. Bitte das Team, das Panel zu aktualisieren.',
  'open.formSlow': 'Das Ticket-Formular hat zu lange zum Laden gebraucht; bitte klick noch einmal.',
  'open.formStale': 'Dieses Formular ist nicht mehr gültig.',
  'open.opened': 'Dein Ticket #{number} ist eröffnet: {link}',
  'open.alreadyOpened': 'Diese Anfrage hat bereits Ticket #{number} eröffnet: {link}',
  'open.openedFor': 'Ticket #{number} für {who} eröffnet: {link}',
  'open.alreadyOpenedFor': 'Ticket #{number} für {who} war bereits eröffnet: {link}',
  'open.incomplete':
    'Discord hatte beim Einrichten einen Aussetzer; der Rest folgt gleich, und das Team sieht das Ticket schon.',
  'open.subjectEmpty': 'Der Betreff ist leer.',
  'open.noCategory': 'Es gibt keine Kategorie namens „{name}“.',
  'open.botUser': 'Bots können keine Tickets haben.',
  'open.noForum':
    'Für diese Kategorie ist noch kein Forum festgelegt. Ein Server-Admin legt eines mit `/setup category` fest.',
  'open.noChannelCategory':
    'Für diese Kategorie ist noch keine Kanalkategorie festgelegt. Ein Server-Admin legt eine mit `/setup category` fest.',
  'open.noSupportChannel':
    'Für diese Kategorie ist noch kein Support-Kanal festgelegt. Ein Server-Admin legt einen mit `/setup category` fest.',
  'open.parentGone':
    'Den Kanal, in dem diese Kategorie Tickets eröffnet, gibt es nicht mehr. Ein Server-Admin legt mit `/setup channels` oder `/setup category` einen neuen fest.',
  'report.thanks': 'Danke, das Team sieht es sich in Ticket #{number} an: {link}',
  'report.already': 'Diese Meldung ist bereits Ticket #{number}: {link}',
  'report.alert': 'Neue Meldung #{number} von <@{reporter}> zu einer Nachricht von <@{author}>: {link}',
  'form.title': 'Ticket eröffnen',
  'form.titleCategory': 'Ticket eröffnen: {category}',
  'form.subjectLabel': 'Worum geht es?',
  'form.detailsLabel': 'Erzähl uns mehr',
  'form.required': 'Bitte beantworte „{question}“.',
  'form.tooLong': '„{question}“ ist zu lang: höchstens {max} Zeichen.',
  'form.tooShort': '„{question}“ braucht mindestens {min} Zeichen.',
  'form.empty': 'Das Formular war leer.',
  'close.modalTitle': 'Ticket schließen',
  'close.reasonLabel': 'Grund (optional)',
  'close.reasonPlaceholder': 'Wird dem Spieler in der Abschlussnachricht gezeigt',
  'ticket.claimed': 'Du hast Ticket #{number} übernommen.',
  'ticket.unclaimed': 'Ticket #{number} ist wieder niemandem zugewiesen.',
  'ticket.nobodyClaimed': 'Niemand hat dieses Ticket übernommen.',
  'ticket.notStaff': '<@{user}> gehört hier nicht zum Team (keine der Rollen ist zugeordnet).',
  'ticket.assigned': 'Ticket #{number} ist <@{user}> zugewiesen.',
  'ticket.noTeam': 'Es gibt kein Team namens „{name}“.',
  'ticket.transferred': 'Ticket #{number} wurde an {team} übergeben.',
  'ticket.unknownPriority': 'Unbekannte Priorität „{level}“.',
  'ticket.prioritySet': 'Priorität auf {level} gesetzt.',
  'ticket.tags': 'Tags: {tags}',
  'ticket.tagsNone': 'Tags: keine',
  'ticket.noteSaved': 'Interne Notiz gespeichert (der Spieler sieht sie nicht).',
  'ticket.cannotRemovePlayer': 'Der Spieler, der das Ticket eröffnet hat, kann nicht daraus entfernt werden.',
  'ticket.memberAdded': '<@{user}> wurde hinzugefügt.',
  'ticket.memberRemoved': '<@{user}> wurde entfernt.',
  'ticket.subjectLength': 'Ein Betreff hat 1 bis 100 Zeichen.',
  'ticket.renamed': 'Umbenannt in „{subject}“.',
  'ticket.statusSet': 'Status auf {status} gesetzt.',
  'ticket.closed': 'Ticket #{number} geschlossen.',
  'ticket.closedWithNote': 'Ticket #{number} geschlossen. Hinweis: {warnings}.',
  'ticket.reopened': 'Ticket #{number} wieder geöffnet.',
  'ticket.readPermission': 'Dafür brauchst du die Berechtigung `tickets.read`.',
  'ticket.infoStatus': 'Status: {status} · Priorität: {priority}',
  'ticket.infoPlayer': 'Spieler: {player}',
  'ticket.infoAssigned': 'Zuständig: zugewiesen',
  'ticket.infoUnassigned': 'Zuständig: niemand',
  'ticket.infoTags': 'Tags: {tags}',
  'ticket.infoOpened': 'Eröffnet {when}',
  'ticket.playerUnknown': 'unbekannt',
  'closeRequest.after': '„after“ ist eine Wartezeit wie 30m, 2h oder 3d: von 1 Minute bis 30 Tage.',
  'closeRequest.notOnDiscord':
    'Der Spieler von Ticket #{number} ist nicht auf Discord und kann hier nicht antworten; schließ es mit `/ticket close`.',
  'closeRequest.asked':
    '<@{player}> wurde gebeten, das Schließen von Ticket #{number} zu bestätigen. Ohne Antwort schließt es {when}; eine Antwort von ihm oder ein Wiedereröffnen zieht die Anfrage zurück.',
  'closeRequest.confirmed': 'Danke! Ticket #{number} ist geschlossen.',
  'closeRequest.declined':
    'Alles klar: Ticket #{number} bleibt offen, und das Team weiß, dass du noch Hilfe brauchst.',
  'reply.sent': 'Antwort gesendet.',
  'reply.empty': 'Gib eine Textvorlage oder einen Text an.',
  'reply.closed': 'Ticket #{number} ist geschlossen; öffne es zuerst wieder.',
  'reply.tooLong': 'Die Antwort ist zu lang für Discord: höchstens 2.000 Zeichen.',
  'tag.sent': '`{name}` gesendet.',
  'tag.none': 'Noch keine Textvorlagen. Das Team legt sie im Panel an.',
  'panel.posted': 'Panel gepostet.',
  'panel.permission':
    'Dafür brauchst du „Server verwalten“ auf Discord oder die Berechtigung `categories.manage`.',
  'panel.noCategories': 'Es gibt noch keine Ticket-Kategorien. Leg eine mit `/setup category` an.',
  'panel.tooMany': 'Ein Panel bietet höchstens 25 Kategorien an; archiviere zuerst einige.',
  'notes.none': 'Ticket #{number} hat keine internen Notizen.',
  'notes.pageOne': 'Es gibt 1 Seite mit Notizen; frag nach Seite 1.',
  'notes.pages': 'Es gibt {pages} Seiten mit Notizen; frag nach Seite 1 bis {pages}.',
  'notes.title': 'Interne Notizen · Ticket #{number}',
  'notes.footer': 'Seite {page} von {pages} · {count} Notizen, neueste zuerst · nur du siehst das',
  'notes.footerOne': 'Seite {page} von {pages} · 1 Notiz · nur du siehst das',
  'stats.staffOnly': '/stats ist für das Team: keine deiner Rollen ist einer GameMod-Rolle zugeordnet.',
  'sync.claimed': '<@{user}> kümmert sich um dieses Ticket.',
  'sync.reopened': 'Ticket wieder geöffnet.',
  'sync.reopenedBy': 'Ticket von {name} wieder geöffnet.',
  'closeRequest.yes': 'Ja, schließen',
  'closeRequest.no': 'Nein, ich brauche noch Hilfe',
  'closeRequest.ask': '{who} meint, dieses Ticket kann geschlossen werden.',
  'closeRequest.askReason': '{who} meint, dieses Ticket kann geschlossen werden: {reason}',
  'closeRequest.askDue':
    'Dürfen wir es schließen? Ohne Antwort schließt es {when}; wer hier schreibt, hält es offen.',
  'closeRequest.staff': 'Das Team',
  'closeRequest.thePlayer': 'Der Spieler',
  'closeRequest.outcomeConfirmed':
    'Schließanfrage: {player} hat bestätigt, und das Ticket wurde geschlossen.',
  'closeRequest.outcomeDeclined': 'Schließanfrage: {player} braucht noch Hilfe; das Ticket bleibt offen.',
  'closeRequest.outcomeTimedOut':
    'Schließanfrage: keine Antwort in der Frist, daher wurde das Ticket geschlossen.',
  'closeRequest.withdrawnReplied': 'Schließanfrage zurückgezogen: {player} hat geantwortet.',
  'closeRequest.withdrawnReopened': 'Schließanfrage zurückgezogen: Das Ticket wurde wieder geöffnet.',
  'closeRequest.withdrawnClosed': 'Schließanfrage zurückgezogen: Das Ticket wurde geschlossen.',
  'closeRequest.declinedNotice': '{player} hat die Schließanfrage abgelehnt und braucht noch Hilfe.',
};
