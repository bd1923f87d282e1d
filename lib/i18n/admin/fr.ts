import type { enAdmin } from './en.js';

/** Français : configuration, menu des salons miroirs, permissions manquantes (noms de Discord en français). */
export const frAdmin: Record<keyof typeof enAdmin, string> = {
  'list.and': '{rest} et {last}',
  'permission.View Channels': 'Voir les salons',
  'permission.Send Messages': 'Envoyer des messages',
  'permission.Send Messages in Threads': 'Envoyer des messages dans les fils',
  'permission.Create Private Threads': 'Créer des fils privés',
  'permission.Create Public Threads': 'Créer des fils publics',
  'permission.Manage Threads': 'Gérer les fils',
  'permission.Manage Channels': 'Gérer les salons',
  'permission.Manage Roles': 'Gérer les rôles',
  'permission.Manage Webhooks': 'Gérer les webhooks',
  'permission.Embed Links': 'Intégrer des liens',
  'permission.Attach Files': 'Joindre des fichiers',
  'permission.Read Message History': 'Voir les anciens messages',
  'permission.Add Reactions': 'Ajouter des réactions',
  'permission.Mention @everyone, @here and All Roles': 'Mentionner @everyone, @here et tous les rôles',
  'permission.Manage Messages': 'Gérer les messages',
  'refusal.forumTag':
    'Ce forum exige un tag sur chaque publication, et cette catégorie de tickets n’en a pas. Un administrateur du serveur en définit un avec `/setup category name:<catégorie> tag:<tag>`.',
  'refusal.missingOneIn':
    'Il me manque la permission Discord {names} dans {channel}. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.missingOne':
    'Il me manque la permission Discord {names}. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.missingManyIn':
    'Il me manque les permissions Discord {names} dans {channel}. Un administrateur du serveur peut les donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.missingMany':
    'Il me manque les permissions Discord {names}. Un administrateur du serveur peut les donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.neededIn':
    'Discord a refusé cela faute d’une permission dans {channel} : il me faut {names} là-bas, et mon rôle doit être au-dessus des rôles que je gère. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.needed':
    'Discord a refusé cela faute d’une permission : il me faut {names} là-bas, et mon rôle doit être au-dessus des rôles que je gère. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.neededSeeIn':
    'Discord a refusé cela faute d’une permission dans {channel} : il me faut {names} là-bas et pouvoir voir le salon, et mon rôle doit être au-dessus des rôles que je gère. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.neededSee':
    'Discord a refusé cela faute d’une permission : il me faut {names} là-bas et pouvoir voir le salon, et mon rôle doit être au-dessus des rôles que je gère. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.unknownIn':
    'Discord a refusé cela faute d’une permission dans {channel}. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'refusal.unknown':
    'Discord a refusé cela faute d’une permission. Un administrateur du serveur peut la donner à mon rôle, ou dans les permissions du salon ; réessayez ensuite.',
  'setup.inServer': 'Lancez /setup sur votre serveur.',
  'setup.linkAdminOnly': 'Seuls les administrateurs du serveur (Gérer le serveur) peuvent relier ce serveur.',
  'setup.linked':
    'Ce serveur est maintenant relié à votre organisation GameMod. Ensuite : `/setup channels`, `/setup role`, `/setup category`, puis `/panel`.',
  'setup.ownerOnly':
    'Seul le propriétaire du serveur peut créer une nouvelle organisation. Les autres relient le serveur avec `/setup link` et un code du panneau.',
  'setup.created':
    'L’organisation GameMod **{name}** est créée, vous en êtes propriétaire, et ce serveur y est relié. Ensuite : `/setup channels`, `/setup role`, `/setup category`, puis `/panel`.',
  'setup.rolesPermission':
    'Associer des rôles demande la permission `roles.manage` de votre propre adhésion GameMod (liez votre compte Discord dans le panneau).',
  'setup.permission':
    'Il vous faut « Gérer le serveur » sur Discord ou la permission `guilds.manage` dans GameMod.',
  'setup.missingOne':
    'Il me manque {names} dans {channel}. Donnez-la à mon rôle (ou dans les permissions de ce salon), puis relancez la commande. Rien n’a été enregistré.',
  'setup.missingMany':
    'Il me manque {names} dans {channel}. Donnez-les à mon rôle (ou dans les permissions de ce salon), puis relancez la commande. Rien n’a été enregistré.',
  'setup.noTag': '{forum} n’a pas de tag « {tag} ». Ses tags : {names}.',
  'setup.tagsNone': 'aucun pour l’instant',
  'setup.tagRequired':
    '{forum} exige un tag sur chaque publication, ses tickets en ont donc besoin : ajoutez `tag:` avec l’un de {names}. Rien n’a été enregistré.',
  'setup.noChannel': 'Indiquez au moins un salon.',
  'setup.channelsSaved': 'Salons enregistrés.',
  'setup.placeThread': '{channel} ne convient pas au mode fil : utilisez un salon textuel.',
  'setup.placeForum': '{channel} ne convient pas au mode forum : utilisez un salon forum.',
  'setup.placeChannel': '{channel} ne convient pas au mode salon : utilisez une catégorie de salons.',
  'setup.forumNeedsChannel': 'Le mode forum a besoin d’un salon forum.',
  'setup.channelNeedsCategory': 'Le mode salon a besoin d’une catégorie de salons.',
  'setup.tagForumOnly': 'Un tag ne sert qu’en mode forum.',
  'setup.categorySaved': 'Catégorie **{name}** enregistrée ({mode}).',
  'setup.categorySavedIn': 'Catégorie **{name}** enregistrée ({mode} dans {channel}).',
  'setup.forumPublic':
    'Remarque : les publications de forum sont publiques. Quiconque peut voir {place} lit chaque ticket qui y est publié, y compris ce qu’écrivent les joueurs. Pour des tickets privés, utilisez plutôt des fils privés : `/setup category name:{name} mode:private thread channel:<un salon textuel>`.',
  'setup.theForum': 'le forum',
  'setup.everyoneRole': 'Associez un vrai rôle, pas @everyone.',
  'setup.roleMapped': '{role} agit désormais comme **{key}**.',
  'setup.roleUnmapped': '{role} n’est plus associé.',
  'setup.roleNotMapped': '{role} n’était pas associé.',
  'setup.noLimits': 'Indiquez max_open ou cooldown.',
  'setup.limitsSaved': 'Limites enregistrées.',
  'setup.showSupport': 'Salon de support : {channel}',
  'setup.showTranscripts': 'Transcriptions : {channel}',
  'setup.showAlerts': 'Alertes : {channel}',
  'setup.notSet': 'non défini',
  'setup.showLimits': 'Limites : {max} ouverts par joueur, {seconds} s d’attente',
  'setup.showRoles': 'Rôles : {roles}',
  'setup.noneMapped': 'aucun associé',
  'mirror.notMirrored':
    'Ce salon n’est pas reflété dans GameMod. Pour signaler le message, utilisez « {menu} ».',
  'mirror.notRecorded': 'Ce message n’a pas pu être enregistré.',
  'mirror.opened':
    'Ticket #{number} ouvert à partir de ce message. L’équipe le traite dans la boîte de réception GameMod.',
  'mirror.already': 'Ce message est déjà le ticket #{number}.',
  'rules.logTitle': 'Exécutions des règles sur le ticket #{number}',
  'rules.logFooter': 'Les plus récentes d’abord · page {page}',
  'rules.logFooterMore': 'Les plus récentes d’abord · page {page} · des exécutions plus anciennes suivent',
  'rules.logNone': 'Aucune règle d’automatisation ne s’est encore exécutée sur le ticket #{number}.',
  'rules.logEnd': 'Il n’y a pas d’exécutions plus anciennes.',
  'rules.eventHeader': 'Événement **{trigger}** · {when}',
  'rules.eventHeaderChain': '**{trigger}** · {when} · causé par une règle (profondeur {depth})',
  'rules.entryApplied': '✅ **{rule}** a fait : {actions}',
  'rules.entryNotMatched': '▫️ **{rule}** ne correspondait pas : {reason}',
  'rules.entrySkipped': '⏭️ **{rule}** a été ignorée : {reason}',
  'rules.entryFailed': '⚠️ **{rule}** a échoué : {reason}',
  'rules.dryButton': 'Essai à blanc',
  'rules.logButton': 'Journal des exécutions',
  'rules.newest': 'Plus récentes',
  'rules.older': 'Plus anciennes',
  'rules.prev': 'Précédente',
  'rules.next': 'Suivante',
  'rules.dryTitle': 'Ce que les règles feraient maintenant sur le ticket #{number}',
  'rules.dryFooter':
    '{matched} règles actives sur {count} correspondent · page {page} sur {pages} · rien n’a été modifié',
  'rules.dryNone': 'Cette organisation n’a aucune règle d’automatisation active.',
  'rules.dryMatch': '✅ **{rule}** ({trigger}) ferait : {actions}',
  'rules.dryNoMatch': '▫️ **{rule}** ({trigger}) ne correspondrait pas : {reason}',
  'rules.runPlaceholder': 'Exécuter maintenant une règle qui correspond sur ce ticket…',
  'rules.ran': '**{rule}** exécutée sur le ticket #{number} : {actions}.',
  'rules.ranNoMatch': '**{rule}** ne correspond plus au ticket #{number}, rien n’a donc été fait : {reason}',
  'rules.ranFailed': '**{rule}** a échoué sur le ticket #{number} et n’a rien modifié : {reason}',
  'rules.ruleNotFound':
    'Cette règle est introuvable dans cette organisation. Elle a peut-être été supprimée : rouvrez l’essai à blanc.',
  'rules.ruleDisabled': 'Cette règle est désactivée. Activez-la dans le panneau pour l’exécuter.',
};
