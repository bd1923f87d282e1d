import type { enAdmin } from './en.js';

/** Deutsch: Einrichtung, Spiegel-Menü, fehlende Berechtigungen (mit Discords deutschen Namen). */
export const deAdmin: Record<keyof typeof enAdmin, string> = {
  'list.and': '{rest} und {last}',
  'permission.View Channels': 'Kanäle ansehen',
  'permission.Send Messages': 'Nachrichten senden',
  'permission.Send Messages in Threads': 'Nachrichten in Threads senden',
  'permission.Create Private Threads': 'Private Threads erstellen',
  'permission.Create Public Threads': 'Öffentliche Threads erstellen',
  'permission.Manage Threads': 'Threads verwalten',
  'permission.Manage Channels': 'Kanäle verwalten',
  'permission.Manage Roles': 'Rollen verwalten',
  'permission.Manage Webhooks': 'WebHooks verwalten',
  'permission.Embed Links': 'Links einbetten',
  'permission.Attach Files': 'Dateien anhängen',
  'permission.Read Message History': 'Nachrichtenverlauf anzeigen',
  'permission.Add Reactions': 'Reaktionen hinzufügen',
  'permission.Mention @everyone, @here and All Roles': '@everyone, @here und alle Rollen erwähnen',
  'permission.Manage Messages': 'Nachrichten verwalten',
  'refusal.forumTag':
    'Dieses Forum verlangt bei jedem Beitrag einen Tag, und diese Ticket-Kategorie hat keinen. Ein Server-Admin legt einen mit `/setup category name:<Kategorie> tag:<Tag>` fest.',
  'refusal.missingOneIn':
    'Mir fehlt die Discord-Berechtigung {names} in {channel}. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.missingOne':
    'Mir fehlt die Discord-Berechtigung {names}. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.missingManyIn':
    'Mir fehlen die Discord-Berechtigungen {names} in {channel}. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.missingMany':
    'Mir fehlen die Discord-Berechtigungen {names}. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.neededIn':
    'Discord hat das wegen einer fehlenden Berechtigung in {channel} abgelehnt: Ich brauche dort {names}, und meine Rolle muss über den Rollen stehen, die ich verwalte. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.needed':
    'Discord hat das wegen einer fehlenden Berechtigung abgelehnt: Ich brauche dort {names}, und meine Rolle muss über den Rollen stehen, die ich verwalte. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.neededSeeIn':
    'Discord hat das wegen einer fehlenden Berechtigung in {channel} abgelehnt: Ich brauche dort {names} und muss den Kanal sehen können, und meine Rolle muss über den Rollen stehen, die ich verwalte. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.neededSee':
    'Discord hat das wegen einer fehlenden Berechtigung abgelehnt: Ich brauche dort {names} und muss den Kanal sehen können, und meine Rolle muss über den Rollen stehen, die ich verwalte. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.unknownIn':
    'Discord hat das wegen einer fehlenden Berechtigung in {channel} abgelehnt. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'refusal.unknown':
    'Discord hat das wegen einer fehlenden Berechtigung abgelehnt. Ein Server-Admin kann sie meiner Rolle oder in den Berechtigungen des Kanals geben; dann versuch es noch einmal.',
  'setup.inServer': 'Führ /setup auf deinem Server aus.',
  'setup.linkAdminOnly': 'Nur Server-Admins (Server verwalten) können diesen Server verbinden.',
  'setup.linked':
    'Dieser Server ist jetzt mit deiner GameMod-Organisation verbunden. Als Nächstes: `/setup channels`, `/setup role`, `/setup category`, dann `/panel`.',
  'setup.ownerOnly':
    'Nur der Serverbesitzer kann eine neue Organisation anlegen. Alle anderen verbinden mit `/setup link` und einem Code aus dem Panel.',
  'setup.created':
    'Die GameMod-Organisation **{name}** ist angelegt, gehört dir, und dieser Server ist mit ihr verbunden. Als Nächstes: `/setup channels`, `/setup role`, `/setup category`, dann `/panel`.',
  'setup.rolesPermission':
    'Rollen zuordnen braucht die Berechtigung `roles.manage` aus deiner eigenen GameMod-Mitgliedschaft (verknüpfe dein Discord-Konto im Panel).',
  'setup.permission':
    'Dafür brauchst du „Server verwalten“ auf Discord oder die Berechtigung `guilds.manage` in GameMod.',
  'setup.missingOne':
    'Mir fehlt {names} in {channel}. Gib sie meiner Rolle (oder in den Berechtigungen dieses Kanals) und führ den Befehl dann noch einmal aus. Nichts wurde gespeichert.',
  'setup.missingMany':
    'Mir fehlen {names} in {channel}. Gib sie meiner Rolle (oder in den Berechtigungen dieses Kanals) und führ den Befehl dann noch einmal aus. Nichts wurde gespeichert.',
  'setup.noTag': '{forum} hat keinen Tag „{tag}“. Seine Tags: {names}.',
  'setup.tagsNone': 'noch keine',
  'setup.tagRequired':
    '{forum} verlangt bei jedem Beitrag einen Tag, also brauchen seine Tickets einen: füge `tag:` mit einem von {names} hinzu. Nichts wurde gespeichert.',
  'setup.noChannel': 'Gib mindestens einen Kanal an.',
  'setup.channelsSaved': 'Kanäle gespeichert.',
  'setup.placeThread': '{channel} passt nicht zum Thread-Modus: nimm einen Textkanal.',
  'setup.placeForum': '{channel} passt nicht zum Forum-Modus: nimm einen Forumkanal.',
  'setup.placeChannel': '{channel} passt nicht zum Kanal-Modus: nimm eine Kanalkategorie.',
  'setup.forumNeedsChannel': 'Der Forum-Modus braucht einen Forumkanal.',
  'setup.channelNeedsCategory': 'Der Kanal-Modus braucht eine Kanalkategorie.',
  'setup.tagForumOnly': 'Ein Tag gibt es nur im Forum-Modus.',
  'setup.categorySaved': 'Kategorie **{name}** gespeichert ({mode}).',
  'setup.categorySavedIn': 'Kategorie **{name}** gespeichert ({mode} in {channel}).',
  'setup.forumPublic':
    'Hinweis: Forumbeiträge sind öffentlich. Wer {place} sehen kann, liest jedes Ticket dort, auch was Spieler schreiben. Für private Tickets nimm stattdessen private Threads: `/setup category name:{name} mode:private thread channel:<ein Textkanal>`.',
  'setup.theForum': 'das Forum',
  'setup.everyoneRole': 'Ordne eine echte Rolle zu, nicht @everyone.',
  'setup.roleMapped': '{role} handelt jetzt als **{key}**.',
  'setup.roleUnmapped': '{role} ist nicht mehr zugeordnet.',
  'setup.roleNotMapped': '{role} war nicht zugeordnet.',
  'setup.noLimits': 'Gib max_open oder cooldown an.',
  'setup.limitsSaved': 'Grenzen gespeichert.',
  'setup.showSupport': 'Support-Kanal: {channel}',
  'setup.showTranscripts': 'Verläufe: {channel}',
  'setup.showAlerts': 'Warnungen: {channel}',
  'setup.notSet': 'nicht festgelegt',
  'setup.showLimits': 'Grenzen: {max} offene pro Spieler, {seconds} s Wartezeit',
  'setup.showRoles': 'Rollen: {roles}',
  'setup.noneMapped': 'keine zugeordnet',
  'mirror.notMirrored':
    'Dieser Kanal wird nicht in GameMod gespiegelt. Um die Nachricht zu melden, nimm „{menu}“.',
  'mirror.notRecorded': 'Diese Nachricht konnte nicht gespeichert werden.',
  'mirror.opened':
    'Ticket #{number} aus dieser Nachricht eröffnet. Das Team bearbeitet es im GameMod-Posteingang.',
  'mirror.already': 'Diese Nachricht ist bereits Ticket #{number}.',
  'rules.logTitle': 'Regelläufe für Ticket #{number}',
  'rules.logFooter': 'Neueste zuerst · Seite {page}',
  'rules.logFooterMore': 'Neueste zuerst · Seite {page} · ältere Läufe folgen',
  'rules.logNone': 'Für Ticket #{number} ist noch keine Automatisierungsregel gelaufen.',
  'rules.logEnd': 'Es gibt keine älteren Regelläufe.',
  'rules.eventHeader': 'Ereignis **{trigger}** · {when}',
  'rules.eventHeaderChain': '**{trigger}** · {when} · von einer Regel ausgelöst (Tiefe {depth})',
  'rules.entryApplied': '✅ **{rule}** hat ausgeführt: {actions}',
  'rules.entryNotMatched': '▫️ **{rule}** traf nicht zu: {reason}',
  'rules.entrySkipped': '⏭️ **{rule}** wurde übersprungen: {reason}',
  'rules.entryFailed': '⚠️ **{rule}** ist fehlgeschlagen: {reason}',
  'rules.dryButton': 'Probelauf',
  'rules.logButton': 'Laufprotokoll',
  'rules.newest': 'Neueste',
  'rules.older': 'Ältere',
  'rules.prev': 'Zurück',
  'rules.next': 'Weiter',
  'rules.dryTitle': 'Was die Regeln jetzt mit Ticket #{number} tun würden',
  'rules.dryFooter':
    '{matched} von {count} aktiven Regeln treffen zu · Seite {page} von {pages} · nichts wurde geändert',
  'rules.dryNone': 'Diese Organisation hat keine aktiven Automatisierungsregeln.',
  'rules.dryMatch': '✅ **{rule}** ({trigger}) würde: {actions}',
  'rules.dryNoMatch': '▫️ **{rule}** ({trigger}) würde nicht zutreffen: {reason}',
  'rules.runPlaceholder': 'Eine zutreffende Regel jetzt auf dieses Ticket anwenden…',
  'rules.ran': '**{rule}** auf Ticket #{number} angewendet: {actions}.',
  'rules.ranNoMatch':
    '**{rule}** trifft auf Ticket #{number} nicht mehr zu, daher wurde nichts getan: {reason}',
  'rules.ranFailed': '**{rule}** ist bei Ticket #{number} fehlgeschlagen und hat nichts geändert: {reason}',
  'rules.ruleNotFound':
    'Diese Regel gibt es in dieser Organisation nicht. Vielleicht wurde sie gelöscht: öffne den Probelauf erneut.',
  'rules.ruleDisabled': 'Diese Regel ist deaktiviert. Aktiviere sie im Panel, um sie auszuführen.',
};
