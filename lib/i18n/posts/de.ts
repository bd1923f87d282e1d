import type { enPosts } from './en.js';

/** Deutsch: die Zusammenfassung eines Tickets, die Verlaufsnachricht, Modmail-DMs. */
export const dePosts: Record<keyof typeof enPosts, string> = {
  'summary.openedBy': '(eröffnet von {user})',
  'summary.category': 'Kategorie: **{name}**',
  'summary.staffAnswer': 'Das Team antwortet hier. Schreib unten, um Details oder Screenshots zu ergänzen.',
  'summary.viaDm':
    'Per Direktnachricht eröffnet: Der Spieler ist nicht in diesem Thread. Seine DMs erscheinen hier, und was das Team hier schreibt, erreicht ihn per DM (`/ticket note` bleibt intern).',
  'summary.reported': 'Gemeldete Nachricht',
  'summary.reportedBy': 'von {author} · [zur Nachricht]({url})',
  'summary.answerSubject': 'Betreff',
  'summary.answerMessage': 'Text der Nachricht',
  'summary.answerOpenedBy': 'Vom Team eröffnet',
  'summary.priority': 'Priorität: {priority}',
  'summary.footer': 'Priorität: {priority} · Status: {status}',
  'summary.footerClaimed': 'Priorität: {priority} · Status: {status} · Übernommen von {name}',
  'summary.claim': 'Übernehmen',
  'summary.close': 'Schließen',
  'summary.setPriority': 'Priorität festlegen',
  'priority.low': 'Niedrig',
  'priority.normal': 'Normal',
  'priority.high': 'Hoch',
  'priority.urgent': 'Dringend',
  'status.open': 'offen',
  'status.pending': 'wartend',
  'status.on_hold': 'zurückgestellt',
  'status.solved': 'gelöst',
  'status.closed': 'geschlossen',
  'panel.defaultTitle': 'Brauchst du Hilfe?',
  'panel.defaultText': 'Wähl unten ein Thema, um ein privates Ticket bei unserem Team zu eröffnen.',
  'panel.chooseTopic': 'Thema wählen',
  'transcript.closedBy': 'Geschlossen von {name}',
  'transcript.closedByReason': 'Geschlossen von {name}: {reason}',
  'transcript.closedAuto': 'Automatisch geschlossen',
  'transcript.closedAutoReason': 'Automatisch geschlossen: {reason}',
  'transcript.link': 'Verlauf: {url}',
  'relay.dmRefused':
    '⚠️ Antworten erreichen {player} nicht: Discord lehnt meine Direktnachrichten an ihn ab (seine DMs sind geschlossen, oder wir teilen keinen Server mehr). Jede neue Antwort wird einmal versucht; ihr erfahrt es hier wieder, wenn es nach einer erfolgreichen erneut scheitert.',
  'dm.nul': 'Nachrichten dürfen das NUL-Zeichen (U+0000) nicht enthalten; schick sie ohne es noch einmal.',
  'dm.tooFast':
    'Du schickst Nachrichten schneller, als ich sie annehmen kann. Warte eine Minute und schick sie dann noch einmal.',
  'dm.chooseFirst': 'Wähl bitte zuerst oben einen Server und eine Kategorie; schreib dann noch einmal.',
  'dm.keeping':
    'Ich behalte das bei deiner ersten Nachricht: Wähl oben einen Server und eine Kategorie, um sie abzuschicken.',
  'dm.noSharedServer':
    'Ich habe keinen gemeinsamen Server gefunden, der über mich Tickets annimmt. Eröffne stattdessen ein Ticket auf dem Server.',
  'dm.whichServer':
    'Für welchen Server ist deine Nachricht? Wähl unten aus; was du geschrieben hast, bleibt bis dahin erhalten.',
  'dm.chooseServer': 'Server wählen',
  'dm.whichCategory': 'Worum geht es in deiner Nachricht an **{server}**?',
  'dm.chooseCategory': 'Kategorie wählen',
  'dm.opened':
    'Dein Ticket #{number} bei **{server}** ist eröffnet. Das Team antwortet hier; alles, was du in diese DM schickst, kommt dazu.',
  'dm.alreadyOpened':
    'Deine Nachricht hat bereits Ticket #{number} bei **{server}** eröffnet; schreib einfach hier weiter.',
  'dm.expiredChoice':
    'Deine Nachricht ist abgelaufen (15 Minuten). Schick sie noch einmal, um ein Ticket zu eröffnen.',
};
