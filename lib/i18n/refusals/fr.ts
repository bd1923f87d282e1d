import type { enRefusals } from './en.js';

/** Français : les refus de db/ qui atteignent des personnes par le bot. */
export const frRefusals: Record<keyof typeof enRefusals, string> = {
  'deny.ticketNotFound': 'Ticket introuvable.',
  'deny.staffOnly': 'Seule l’équipe peut faire cela.',
  'deny.merged': 'Ce ticket a été fusionné avec un autre ticket.',
  'deny.closedReply': 'Le ticket #{number} est fermé ; rouvrez-le avant de répondre.',
  'deny.statusStaffOnly': 'Seule l’équipe peut définir le statut.',
  'deny.transition': 'Impossible de passer le statut de {from} à {to}.',
  'deny.closedAssign': 'Le ticket #{number} est fermé ; rouvrez-le avant de l’attribuer.',
  'deny.assigneeNotMember': 'La personne attribuée n’est pas membre de cette organisation.',
  'deny.assigneeDisabled': 'La personne attribuée ne peut pas traiter de tickets : son compte est désactivé.',
  'deny.assigneeCannotWork':
    'La personne attribuée ne peut pas traiter de tickets : il manque à son rôle {permissions}.',
  'deny.claimStaffOnly': 'Seul un membre de l’équipe peut prendre en charge un ticket.',
  'deny.playerCloseOwn': 'Les joueurs ne peuvent fermer que leurs propres tickets.',
  'deny.notReopenable': 'Le ticket #{number} est {status}, ni résolu ni fermé.',
  'deny.tooManyTags': 'Un ticket porte au plus 50 tags.',
  'deny.alreadyRated': 'Le ticket #{number} a déjà été évalué.',
  'deny.rateWhenDone': 'Un ticket peut être évalué une fois résolu ou fermé.',
  'deny.cannedUnknown': 'Aucune réponse prédéfinie « {name} ».',
  'deny.guildNotLinked': 'Ce serveur n’est pas relié à l’organisation.',
  'deny.guildCodeUnknown': 'Ce code de liaison est inconnu, déjà utilisé ou expiré.',
  'deny.guildLinkedElsewhere': 'Ce serveur est déjà relié à une autre organisation.',
  'deny.guildAlreadyLinked': 'Ce serveur est déjà relié à une organisation.',
  'deny.playerCodeUnknown': 'Ce code est inconnu, déjà utilisé ou expiré.',
  'deny.gameAccountLinkedElsewhere':
    'Ce compte de jeu est déjà lié à un autre compte Discord ; un code ne le déplace jamais (l’équipe peut d’abord le dissocier).',
  'deny.discordLinkedElsewhere':
    'Ce compte Discord est déjà lié à un autre compte de ce jeu ; un code ne le remplace jamais (l’équipe peut d’abord le dissocier).',
  'deny.noRole': 'Aucun rôle « {key} » dans cette organisation.',
  'deny.discordOwner':
    'Un rôle Discord ne peut faire de personne un propriétaire : les propriétaires sont ajoutés dans le panneau.',
  'deny.ownerOnlyGrant': 'Seul un propriétaire peut faire de quelqu’un un propriétaire.',
  'deny.ownerOnlyUnmap': 'Seul un propriétaire peut retirer l’association du rôle de propriétaire.',
  'deny.grantNotHeldOne': 'Vous ne pouvez pas accorder {list} : vous ne l’avez pas vous-même.',
  'deny.grantNotHeldMany': 'Vous ne pouvez pas accorder {list} : vous ne les avez pas vous-même.',
  'deny.unmapNotHeld':
    'Vous ne pouvez pas modifier cette association : son rôle porte {list}, que vous n’avez pas.',
  'deny.closeRequestNoPlayer': 'Le ticket #{number} n’a aucun joueur à qui demander.',
  'deny.closeRequestPending':
    'Une demande de fermeture du ticket #{number} attend déjà la réponse du joueur.',
  'deny.closeRequestGone': 'Cette demande de fermeture n’existe plus.',
  'deny.closeRequestOnlyPlayer': 'Seul le joueur qui a ouvert le ticket #{number} peut y répondre.',
  'deny.closeRequestConfirmed': 'Cette demande de fermeture a déjà été confirmée.',
  'deny.closeRequestDeclined': 'Cette demande de fermeture a déjà été refusée.',
  'deny.closeRequestTimedOut': 'Le délai de cette demande de fermeture est écoulé.',
  'deny.closeRequestCancelled': 'Cette demande de fermeture a été annulée.',
};
