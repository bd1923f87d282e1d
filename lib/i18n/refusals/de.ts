import type { enRefusals } from './en.js';

/** Deutsch: Ablehnungen aus db/, die über den Bot Menschen erreichen. */
export const deRefusals: Record<keyof typeof enRefusals, string> = {
  'deny.ticketNotFound': 'Ticket nicht gefunden.',
  'deny.staffOnly': 'Das kann nur das Team.',
  'deny.merged': 'Dieses Ticket wurde mit einem anderen Ticket zusammengeführt.',
  'deny.closedReply': 'Ticket #{number} ist geschlossen; öffne es wieder, bevor du antwortest.',
  'deny.statusStaffOnly': 'Nur das Team kann den Status festlegen.',
  'deny.transition': 'Der Status kann nicht von {from} zu {to} wechseln.',
  'deny.closedAssign': 'Ticket #{number} ist geschlossen; öffne es wieder, bevor du es zuweist.',
  'deny.assigneeNotMember': 'Die zugewiesene Person ist kein Mitglied dieser Organisation.',
  'deny.assigneeDisabled': 'Die zugewiesene Person kann keine Tickets bearbeiten: Ihr Konto ist deaktiviert.',
  'deny.assigneeCannotWork':
    'Die zugewiesene Person kann keine Tickets bearbeiten: Ihrer Rolle fehlt {permissions}.',
  'deny.claimStaffOnly': 'Nur ein Teammitglied kann ein Ticket übernehmen.',
  'deny.playerCloseOwn': 'Spieler können nur ihre eigenen Tickets schließen.',
  'deny.notReopenable': 'Ticket #{number} ist {status}, nicht gelöst oder geschlossen.',
  'deny.tooManyTags': 'Ein Ticket hat höchstens 50 Tags.',
  'deny.alreadyRated': 'Ticket #{number} wurde bereits bewertet.',
  'deny.rateWhenDone': 'Ein Ticket kann bewertet werden, sobald es gelöst oder geschlossen ist.',
  'deny.cannedUnknown': 'Keine Textvorlage „{name}“.',
  'deny.guildNotLinked': 'Dieser Server ist nicht mit der Organisation verbunden.',
  'deny.guildCodeUnknown': 'Dieser Verbindungscode ist unbekannt, schon benutzt oder abgelaufen.',
  'deny.guildLinkedElsewhere': 'Dieser Server ist bereits mit einer anderen Organisation verbunden.',
  'deny.guildAlreadyLinked': 'Dieser Server ist bereits mit einer Organisation verbunden.',
  'deny.playerCodeUnknown': 'Dieser Code ist unbekannt, schon benutzt oder abgelaufen.',
  'deny.gameAccountLinkedElsewhere':
    'Dieses Spielkonto ist bereits mit einem anderen Discord-Konto verknüpft; ein Code verschiebt es nie (das Team kann die Verknüpfung zuerst aufheben).',
  'deny.discordLinkedElsewhere':
    'Dieses Discord-Konto ist bereits mit einem anderen Spielkonto dieses Spiels verknüpft; ein Code ersetzt es nie (das Team kann die Verknüpfung zuerst aufheben).',
  'deny.noRole': 'Keine Rolle „{key}“ in dieser Organisation.',
  'deny.discordOwner':
    'Eine Discord-Rolle kann niemanden zum Besitzer machen: Besitzer werden im Panel hinzugefügt.',
  'deny.ownerOnlyGrant': 'Nur ein Besitzer kann jemanden zum Besitzer machen.',
  'deny.ownerOnlyUnmap': 'Nur ein Besitzer kann die Zuordnung der Besitzerrolle aufheben.',
  'deny.grantNotHeldOne': 'Du kannst {list} nicht vergeben: Du hast die Berechtigung selbst nicht.',
  'deny.grantNotHeldMany': 'Du kannst {list} nicht vergeben: Du hast diese Berechtigungen selbst nicht.',
  'deny.unmapNotHeld':
    'Du kannst diese Zuordnung nicht ändern: Ihre Rolle hat {list}, was du selbst nicht hast.',
  'deny.closeRequestNoPlayer': 'Ticket #{number} hat keinen Spieler, den man fragen könnte.',
  'deny.closeRequestPending':
    'Eine Schließanfrage für Ticket #{number} wartet bereits auf die Antwort des Spielers.',
  'deny.closeRequestGone': 'Diese Schließanfrage gibt es nicht mehr.',
  'deny.closeRequestOnlyPlayer': 'Nur der Spieler, der Ticket #{number} eröffnet hat, kann darauf antworten.',
  'deny.closeRequestConfirmed': 'Diese Schließanfrage wurde bereits bestätigt.',
  'deny.closeRequestDeclined': 'Diese Schließanfrage wurde bereits abgelehnt.',
  'deny.closeRequestTimedOut': 'Die Zeit für diese Schließanfrage ist abgelaufen.',
  'deny.closeRequestCancelled': 'Diese Schließanfrage wurde zurückgezogen.',
};
