import type { enReplies } from './en.js';

/** Français : réponses du bot et avis pour l'équipe (mêmes clés que `en.ts`). */
export const frReplies: Record<keyof typeof enReplies, string> = {
  'error.notAccepted': 'Ce n’est pas accepté : {reasons}',
  'error.unavailable':
    'Le service est brièvement indisponible ; réessayez dans un instant. (identifiant de requête `{requestId}`)',
  'error.missingPermission':
    'Il me manque une permission Discord pour cela ({detail}). Un administrateur peut corriger les permissions de mon rôle. (identifiant de requête `{requestId}`)',
  'error.channelGone': 'Le salon du ticket n’existe plus sur Discord. (identifiant de requête `{requestId}`)',
  'error.discordInvalid':
    'Discord a refusé la requête comme invalide ({detail}). (identifiant de requête `{requestId}`)',
  'error.discordTrouble':
    'Discord rencontre des difficultés ; veuillez réessayer. (identifiant de requête `{requestId}`)',
  'error.generic':
    'Un problème est survenu de notre côté. Réessayez ; si cela se reproduit, donnez cet identifiant de requête à l’équipe : `{requestId}`',
  'error.nul': 'Le texte ne peut pas contenir le caractère NUL (U+0000) ; retirez-le et réessayez.',
  'error.staleButton': 'Ce bouton n’est plus valide.',
  'refuse.notSetUp':
    'Ce serveur n’est pas encore configuré avec GameMod. Un administrateur du serveur lance d’abord `/setup link` (avec un code du panneau) ou `/setup create`.',
  'refuse.inServer': 'Les commandes GameMod fonctionnent sur un serveur, pas en messages privés.',
  'refuse.runInTicket': 'Lancez cette commande dans le fil ou le salon d’un ticket.',
  'refuse.notTicket': 'Ce n’est pas le fil ou le salon d’un ticket. Lancez-la dans un ticket.',
  'refuse.permission':
    'Il vous faut la permission `{permission}`. Demandez à un administrateur d’associer l’un de vos rôles Discord à un rôle GameMod qui l’a.',
  'refuse.closePermission':
    'Seuls les membres de l’équipe ayant la permission `tickets.close` ou l’auteur du ticket peuvent le fermer.',
  'refuse.alreadyClosed': 'Le ticket #{number} est déjà fermé.',
  'refuse.commentTooLong': 'Le commentaire est trop long : 1 000 caractères au maximum.',
  'refuse.reasonTooLong': 'La raison est trop longue : 500 caractères au maximum.',
  'refuse.ticketGone': 'Ce ticket n’existe plus.',
  'refuse.noChannel': 'Ce ticket n’a pas de salon Discord.',
  'open.blocked':
    'Vous ne pouvez pas ouvrir de ticket ici. Contactez l’équipe du serveur si vous pensez qu’il s’agit d’une erreur.',
  'open.blockedReason':
    'Vous ne pouvez pas ouvrir de ticket ici : {reason}. Contactez l’équipe du serveur si vous pensez qu’il s’agit d’une erreur.',
  'open.limitOne':
    'Vous avez déjà 1 ticket ouvert (la limite ici est de {max}). Continuez dans celui-ci, ou attendez que l’équipe le ferme.',
  'open.limitMany':
    'Vous avez déjà {open} tickets ouverts (la limite ici est de {max}). Continuez dans l’un d’eux, ou attendez que l’équipe en ferme un.',
  'open.cooldown': 'Veuillez attendre {seconds} s avant d’ouvrir un autre ticket.',
  'open.inProgress': 'Votre ticket précédent est encore en cours d’ouverture ; patientez un instant.',
  'open.categoryArchived': 'Cette catégorie de ticket n’est plus proposée.',
  'open.categoryGone':
    'Cette catégorie de ticket n’existe plus. Demandez à l’équipe d’actualiser le panneau.',
  'open.formSlow': 'Le formulaire a mis trop de temps à se charger ; cliquez à nouveau.',
  'open.formStale': 'Ce formulaire n’est plus valide.',
  'open.opened': 'Votre ticket #{number} est ouvert : {link}',
  'open.alreadyOpened': 'Cette demande a déjà ouvert le ticket #{number} : {link}',
  'open.openedFor': 'Ticket #{number} ouvert pour {who} : {link}',
  'open.alreadyOpenedFor': 'Le ticket #{number} était déjà ouvert pour {who} : {link}',
  'open.incomplete':
    'Discord a eu un raté pendant la mise en place ; la suite arrive dans un instant, et l’équipe le voit déjà.',
  'open.subjectEmpty': 'Le sujet est vide.',
  'open.noCategory': 'Il n’y a pas de catégorie nommée « {name} ».',
  'open.botUser': 'Les bots ne peuvent pas avoir de ticket.',
  'open.noForum':
    'Aucun forum n’est encore défini pour cette catégorie. Un administrateur du serveur en définit un avec `/setup category`.',
  'open.noChannelCategory':
    'Aucune catégorie de salons n’est encore définie pour cette catégorie. Un administrateur du serveur en définit une avec `/setup category`.',
  'open.noSupportChannel':
    'Aucun salon d’assistance n’est encore défini pour cette catégorie. Un administrateur du serveur en définit un avec `/setup category`.',
  'open.parentGone':
    'Le salon où cette catégorie ouvre ses tickets n’existe plus. Un administrateur du serveur en définit un nouveau avec `/setup channels` ou `/setup category`.',
  'report.thanks': 'Merci, l’équipe va l’examiner dans le ticket #{number} : {link}',
  'report.already': 'Ce signalement est déjà le ticket #{number} : {link}',
  'report.alert':
    'Nouveau signalement #{number} de <@{reporter}> concernant un message de <@{author}> : {link}',
  'dm.noServer': 'Ce serveur n’accepte pas vos tickets par mon intermédiaire.',
  'dm.notHere': 'Ce choix se fait en message privé.',
  'dm.categoryGone': 'Cette catégorie n’est plus proposée ; envoyez à nouveau votre message.',
  'dm.expired': 'Votre message a expiré ; envoyez-le à nouveau.',
  'form.title': 'Ouvrir un ticket',
  'form.titleCategory': 'Ouvrir un ticket : {category}',
  'form.subjectLabel': 'De quoi s’agit-il ?',
  'form.detailsLabel': 'Dites-nous en plus',
  'form.required': 'Veuillez répondre à « {question} ».',
  'form.tooLong': '« {question} » est trop long : {max} caractères au maximum.',
  'form.tooShort': '« {question} » demande au moins {min} caractères.',
  'form.empty': 'Le formulaire était vide.',
  'close.modalTitle': 'Fermer le ticket',
  'close.reasonLabel': 'Raison (facultatif)',
  'close.reasonPlaceholder': 'Montrée au joueur dans le message de fermeture',
  'ticket.claimed': 'Vous avez pris en charge le ticket #{number}.',
  'ticket.unclaimed': 'Le ticket #{number} n’est plus attribué.',
  'ticket.nobodyClaimed': 'Personne n’a pris en charge ce ticket.',
  'ticket.notStaff': '<@{user}> ne fait pas partie de l’équipe ici (aucun de ses rôles n’est associé).',
  'ticket.assigned': 'Le ticket #{number} est attribué à <@{user}>.',
  'ticket.noTeam': 'Il n’y a pas d’équipe nommée « {name} ».',
  'ticket.transferred': 'Le ticket #{number} a été transféré à {team}.',
  'ticket.unknownPriority': 'Priorité inconnue « {level} ».',
  'ticket.prioritySet': 'Priorité réglée sur {level}.',
  'ticket.tags': 'Étiquettes : {tags}',
  'ticket.tagsNone': 'Étiquettes : aucune',
  'ticket.noteSaved': 'Note interne enregistrée (non visible par le joueur).',
  'ticket.cannotRemovePlayer': 'Le joueur qui a ouvert le ticket ne peut pas en être retiré.',
  'ticket.memberAdded': '<@{user}> a été ajouté.',
  'ticket.memberRemoved': '<@{user}> a été retiré.',
  'ticket.subjectLength': 'Un sujet fait de 1 à 100 caractères.',
  'ticket.renamed': 'Renommé en « {subject} ».',
  'ticket.statusSet': 'Statut réglé sur {status}.',
  'ticket.closed': 'Ticket #{number} fermé.',
  'ticket.closedWithNote': 'Ticket #{number} fermé. Remarque : {warnings}.',
  'ticket.reopened': 'Ticket #{number} rouvert.',
  'ticket.readPermission': 'Il vous faut la permission `tickets.read`.',
  'ticket.infoStatus': 'Statut : {status} · Priorité : {priority}',
  'ticket.infoPlayer': 'Joueur : {player}',
  'ticket.infoAssigned': 'Responsable : attribué',
  'ticket.infoUnassigned': 'Responsable : personne',
  'ticket.infoTags': 'Étiquettes : {tags}',
  'ticket.infoOpened': 'Ouvert {when}',
  'ticket.playerUnknown': 'inconnu',
  'closeRequest.after': '« after » est un délai comme 30m, 2h ou 3d : de 1 minute à 30 jours.',
  'closeRequest.notOnDiscord':
    'Le joueur du ticket #{number} n’est pas sur Discord et ne peut pas répondre ici ; fermez-le avec `/ticket close`.',
  'closeRequest.asked':
    '<@{player}> doit confirmer la fermeture du ticket #{number}. Sans réponse, il se ferme {when} ; une réponse de sa part ou une réouverture annule la demande.',
  'closeRequest.confirmed': 'Merci ! Le ticket #{number} est fermé.',
  'closeRequest.declined':
    'C’est noté : le ticket #{number} reste ouvert, et l’équipe sait que vous avez encore besoin d’aide.',
  'reply.sent': 'Réponse envoyée.',
  'reply.empty': 'Donnez une réponse prédéfinie ou un texte.',
  'reply.closed': 'Le ticket #{number} est fermé ; rouvrez-le d’abord.',
  'reply.tooLong': 'La réponse est trop longue pour Discord : 2 000 caractères au maximum.',
  'tag.sent': '`{name}` envoyé.',
  'tag.none': 'Pas encore de réponses prédéfinies. L’équipe les ajoute dans le panneau.',
  'panel.posted': 'Panneau publié.',
  'panel.permission': 'Il vous faut « Gérer le serveur » sur Discord ou la permission `categories.manage`.',
  'panel.noCategories': 'Il n’y a pas encore de catégorie de ticket. Ajoutez-en une avec `/setup category`.',
  'panel.tooMany': 'Un panneau propose au plus 25 catégories ; archivez-en d’abord quelques-unes.',
  'notes.none': 'Le ticket #{number} n’a pas de notes internes.',
  'notes.pageOne': 'Il y a 1 page de notes ; demandez la page 1.',
  'notes.pages': 'Il y a {pages} pages de notes ; demandez une page de 1 à {pages}.',
  'notes.title': 'Notes internes · ticket #{number}',
  'notes.footer':
    'Page {page} sur {pages} · {count} notes, les plus récentes d’abord · visible par vous seul',
  'notes.footerOne': 'Page {page} sur {pages} · 1 note · visible par vous seul',
  'stats.staffOnly': '/stats est réservé à l’équipe : aucun de vos rôles n’est associé à un rôle GameMod.',
  'sync.claimed': '<@{user}> s’occupe de ce ticket.',
  'sync.reopened': 'Ticket rouvert.',
  'sync.reopenedBy': 'Ticket rouvert par {name}.',
  'closeRequest.yes': 'Oui, le fermer',
  'closeRequest.no': 'Non, j’ai encore besoin d’aide',
  'closeRequest.ask': '{who} pense que ce ticket peut être fermé.',
  'closeRequest.askReason': '{who} pense que ce ticket peut être fermé : {reason}',
  'closeRequest.askDue':
    'Pouvons-nous le fermer ? Sans réponse, il se ferme {when} ; écrire ici le garde ouvert.',
  'closeRequest.staff': 'L’équipe',
  'closeRequest.thePlayer': 'Le joueur',
  'closeRequest.outcomeConfirmed': 'Demande de fermeture : {player} a confirmé, et le ticket a été fermé.',
  'closeRequest.outcomeDeclined':
    'Demande de fermeture : {player} a encore besoin d’aide ; le ticket reste ouvert.',
  'closeRequest.outcomeTimedOut':
    'Demande de fermeture : pas de réponse à temps, le ticket a donc été fermé.',
  'closeRequest.withdrawnReplied': 'Demande de fermeture retirée : {player} a répondu.',
  'closeRequest.withdrawnReopened': 'Demande de fermeture retirée : le ticket a été rouvert.',
  'closeRequest.withdrawnClosed': 'Demande de fermeture retirée : le ticket a été fermé.',
  'closeRequest.declinedNotice': '{player} a refusé la demande de fermeture : il a encore besoin d’aide.',
};
