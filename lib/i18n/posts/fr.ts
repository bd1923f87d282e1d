import type { enPosts } from './en.js';

/** Français : le résumé d’un ticket, l’avis de transcription, les messages privés du modmail. */
export const frPosts: Record<keyof typeof enPosts, string> = {
  'summary.openedBy': '(ouvert par {user})',
  'summary.category': 'Catégorie : **{name}**',
  'summary.staffAnswer':
    'L’équipe répondra ici. Écrivez ci-dessous pour ajouter des détails ou des captures d’écran.',
  'summary.viaDm':
    'Ouvert par message privé : le joueur n’est pas dans ce fil. Ses messages privés apparaissent ici, et ce que l’équipe écrit ici lui parvient en message privé (`/ticket note` reste interne).',
  'summary.reported': 'Message signalé',
  'summary.reportedBy': 'par {author} · [aller au message]({url})',
  'summary.answerSubject': 'Sujet',
  'summary.answerMessage': 'Texte du message',
  'summary.answerOpenedBy': 'Ouvert par l’équipe',
  'summary.priority': 'Priorité : {priority}',
  'summary.footer': 'Priorité : {priority} · Statut : {status}',
  'summary.footerClaimed': 'Priorité : {priority} · Statut : {status} · Pris en charge par {name}',
  'summary.claim': 'Prendre en charge',
  'summary.close': 'Fermer',
  'summary.setPriority': 'Définir la priorité',
  'priority.low': 'Basse',
  'priority.normal': 'Normale',
  'priority.high': 'Haute',
  'priority.urgent': 'Urgente',
  'status.open': 'ouvert',
  'status.pending': 'en attente',
  'status.on_hold': 'suspendu',
  'status.solved': 'résolu',
  'status.closed': 'fermé',
  'panel.defaultTitle': 'Besoin d’aide ?',
  'panel.defaultText': 'Choisissez un sujet ci-dessous pour ouvrir un ticket privé avec notre équipe.',
  'panel.chooseTopic': 'Choisir un sujet',
  'transcript.closedBy': 'Fermé par {name}',
  'transcript.closedByReason': 'Fermé par {name} : {reason}',
  'transcript.closedAuto': 'Fermé automatiquement',
  'transcript.closedAutoReason': 'Fermé automatiquement : {reason}',
  'transcript.link': 'Transcription : {url}',
  'relay.dmRefused':
    '⚠️ Les réponses n’atteignent pas {player} : Discord refuse mes messages privés vers ce joueur (ses messages privés sont fermés, ou nous ne partageons plus de serveur). Chaque nouvelle réponse est tentée une fois ; vous serez prévenus ici à nouveau si cela échoue après qu’une soit passée.',
  'dm.nul': 'Les messages ne peuvent pas contenir le caractère NUL (U+0000) ; renvoyez-le sans.',
  'dm.tooFast':
    'Vous envoyez des messages plus vite que je ne peux les prendre. Attendez une minute, puis renvoyez.',
  'dm.chooseFirst': 'Choisissez d’abord un serveur et une catégorie ci-dessus ; puis écrivez à nouveau.',
  'dm.keeping':
    'Je garde ceci avec votre premier message : choisissez un serveur et une catégorie ci-dessus pour les envoyer.',
  'dm.noSharedServer':
    'Je n’ai trouvé aucun serveur en commun qui accepte des tickets par mon intermédiaire. Ouvrez plutôt un ticket depuis le serveur.',
  'dm.whichServer':
    'À quel serveur votre message est-il destiné ? Choisissez ci-dessous ; ce que vous avez écrit est gardé jusque-là.',
  'dm.chooseServer': 'Choisir un serveur',
  'dm.whichCategory': 'De quoi parle votre message à **{server}** ?',
  'dm.chooseCategory': 'Choisir une catégorie',
  'dm.opened':
    'Votre ticket #{number} auprès de **{server}** est ouvert. L’équipe répondra ici ; tout ce que vous envoyez dans cette conversation y est ajouté.',
  'dm.alreadyOpened':
    'Votre message a déjà ouvert le ticket #{number} auprès de **{server}** ; continuez à écrire ici.',
  'dm.expiredChoice': 'Votre message a expiré (15 minutes). Renvoyez-le pour ouvrir un ticket.',
};
