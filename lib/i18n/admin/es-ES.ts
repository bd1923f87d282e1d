import type { enAdmin } from './en.js';

/** Español: configuración, menú de canales reflejados, permisos que faltan (con los nombres de Discord). */
export const esESAdmin: Record<keyof typeof enAdmin, string> = {
  'list.and': '{rest} y {last}',
  'permission.View Channels': 'Ver canales',
  'permission.Send Messages': 'Enviar mensajes',
  'permission.Send Messages in Threads': 'Enviar mensajes en hilos',
  'permission.Create Private Threads': 'Crear hilos privados',
  'permission.Create Public Threads': 'Crear hilos públicos',
  'permission.Manage Threads': 'Gestionar hilos',
  'permission.Manage Channels': 'Gestionar canales',
  'permission.Manage Roles': 'Gestionar roles',
  'permission.Manage Webhooks': 'Gestionar webhooks',
  'permission.Embed Links': 'Insertar enlaces',
  'permission.Attach Files': 'Adjuntar archivos',
  'permission.Read Message History': 'Leer el historial de mensajes',
  'permission.Add Reactions': 'Añadir reacciones',
  'permission.Mention @everyone, @here and All Roles': 'Mencionar @everyone, @here y todos los roles',
  'permission.Manage Messages': 'Gestionar mensajes',
  'refusal.forumTag':
    'Este foro exige una etiqueta en cada publicación, y esta categoría de tickets no tiene ninguna. Un administrador del servidor la define con `/setup category name:<categoría> tag:<etiqueta>`.',
  'refusal.missingOneIn':
    'Me falta el permiso de Discord {names} en {channel}. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.missingOne':
    'Me falta el permiso de Discord {names}. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.missingManyIn':
    'Me faltan los permisos de Discord {names} en {channel}. Un administrador del servidor puede dárselos a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.missingMany':
    'Me faltan los permisos de Discord {names}. Un administrador del servidor puede dárselos a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.neededIn':
    'Discord lo rechazó por falta de un permiso en {channel}: necesito {names} allí, y mi rol debe estar por encima de los roles que gestiono. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.needed':
    'Discord lo rechazó por falta de un permiso: necesito {names} allí, y mi rol debe estar por encima de los roles que gestiono. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.neededSeeIn':
    'Discord lo rechazó por falta de un permiso en {channel}: necesito {names} allí y poder ver el canal, y mi rol debe estar por encima de los roles que gestiono. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.neededSee':
    'Discord lo rechazó por falta de un permiso: necesito {names} allí y poder ver el canal, y mi rol debe estar por encima de los roles que gestiono. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.unknownIn':
    'Discord lo rechazó por falta de un permiso en {channel}. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'refusal.unknown':
    'Discord lo rechazó por falta de un permiso. Un administrador del servidor puede dárselo a mi rol, o en los permisos del canal; después, inténtalo de nuevo.',
  'setup.inServer': 'Ejecuta /setup en tu servidor.',
  'setup.linkAdminOnly':
    'Solo los administradores del servidor (Gestionar servidor) pueden vincular este servidor.',
  'setup.linked':
    'Este servidor ya está vinculado a tu organización de GameMod. Siguiente: `/setup channels`, `/setup role`, `/setup category` y luego `/panel`.',
  'setup.ownerOnly':
    'Solo el propietario del servidor puede crear una organización nueva. Los demás vinculan con `/setup link` y un código del panel.',
  'setup.created':
    'Se creó la organización de GameMod **{name}**, de tu propiedad, y se vinculó este servidor. Siguiente: `/setup channels`, `/setup role`, `/setup category` y luego `/panel`.',
  'setup.rolesPermission':
    'Asignar roles requiere el permiso `roles.manage` de tu propia membresía de GameMod (vincula tu cuenta de Discord en el panel).',
  'setup.permission': 'Necesitas «Gestionar servidor» en Discord o el permiso `guilds.manage` en GameMod.',
  'setup.missingOne':
    'Me falta {names} en {channel}. Dáselo a mi rol (o en los permisos de ese canal) y vuelve a ejecutarlo. No se guardó nada.',
  'setup.missingMany':
    'Me faltan {names} en {channel}. Dáselos a mi rol (o en los permisos de ese canal) y vuelve a ejecutarlo. No se guardó nada.',
  'setup.noTag': '{forum} no tiene la etiqueta «{tag}». Sus etiquetas: {names}.',
  'setup.tagsNone': 'ninguna todavía',
  'setup.tagRequired':
    '{forum} exige una etiqueta en cada publicación, así que sus tickets necesitan una: añade `tag:` con una de {names}. No se guardó nada.',
  'setup.noChannel': 'Indica al menos un canal.',
  'setup.channelsSaved': 'Canales guardados.',
  'setup.placeThread': '{channel} no sirve para el modo hilo: usa un canal de texto.',
  'setup.placeForum': '{channel} no sirve para el modo foro: usa un canal de foro.',
  'setup.placeChannel': '{channel} no sirve para el modo canal: usa una categoría de canales.',
  'setup.forumNeedsChannel': 'El modo foro necesita un canal de foro.',
  'setup.channelNeedsCategory': 'El modo canal necesita una categoría de canales.',
  'setup.tagForumOnly': 'Una etiqueta solo sirve en el modo foro.',
  'setup.categorySaved': 'Categoría **{name}** guardada ({mode}).',
  'setup.categorySavedIn': 'Categoría **{name}** guardada ({mode} en {channel}).',
  'setup.forumPublic':
    'Nota: las publicaciones de foro son públicas. Cualquiera que pueda ver {place} lee cada ticket publicado allí, incluido lo que escriben los jugadores. Para tickets privados, usa hilos privados: `/setup category name:{name} mode:private thread channel:<un canal de texto>`.',
  'setup.theForum': 'el foro',
  'setup.everyoneRole': 'Asigna un rol de verdad, no @everyone.',
  'setup.roleMapped': '{role} ahora actúa como **{key}**.',
  'setup.roleUnmapped': '{role} ya no está asignado.',
  'setup.roleNotMapped': '{role} no estaba asignado.',
  'setup.noLimits': 'Indica max_open o cooldown.',
  'setup.limitsSaved': 'Límites guardados.',
  'setup.showSupport': 'Canal de soporte: {channel}',
  'setup.showTranscripts': 'Transcripciones: {channel}',
  'setup.showAlerts': 'Alertas: {channel}',
  'setup.notSet': 'sin definir',
  'setup.showLimits': 'Límites: {max} abiertos por jugador, {seconds} s de espera',
  'setup.showRoles': 'Roles asignados: {roles}',
  'setup.noneMapped': 'ninguno asignado',
  'mirror.notMirrored': 'Este canal no se refleja en GameMod. Para denunciar el mensaje, usa «{menu}».',
  'mirror.notRecorded': 'No se pudo guardar este mensaje.',
  'mirror.opened':
    'Se abrió el ticket #{number} a partir de este mensaje. El equipo lo atiende en la bandeja de GameMod.',
  'mirror.already': 'Este mensaje ya es el ticket #{number}.',
  'rules.logTitle': 'Ejecuciones de reglas en el ticket #{number}',
  'rules.logFooter': 'Las más recientes primero · página {page}',
  'rules.logFooterMore': 'Las más recientes primero · página {page} · siguen ejecuciones más antiguas',
  'rules.logNone': 'Todavía no se ha ejecutado ninguna regla de automatización en el ticket #{number}.',
  'rules.logEnd': 'No hay ejecuciones más antiguas.',
  'rules.eventHeader': 'Evento **{trigger}** · {when}',
  'rules.eventHeaderChain': '**{trigger}** · {when} · causado por una regla (profundidad {depth})',
  'rules.entryApplied': '✅ **{rule}** hizo: {actions}',
  'rules.entryNotMatched': '▫️ **{rule}** no coincidía: {reason}',
  'rules.entrySkipped': '⏭️ **{rule}** se omitió: {reason}',
  'rules.entryFailed': '⚠️ **{rule}** falló: {reason}',
  'rules.dryButton': 'Simulación',
  'rules.logButton': 'Registro de ejecuciones',
  'rules.newest': 'Más recientes',
  'rules.older': 'Más antiguas',
  'rules.prev': 'Anterior',
  'rules.next': 'Siguiente',
  'rules.dryTitle': 'Lo que harían ahora las reglas en el ticket #{number}',
  'rules.dryFooter':
    '{matched} de {count} reglas activas coinciden · página {page} de {pages} · no se cambió nada',
  'rules.dryNone': 'Esta organización no tiene reglas de automatización activas.',
  'rules.dryMatch': '✅ **{rule}** ({trigger}) haría: {actions}',
  'rules.dryNoMatch': '▫️ **{rule}** ({trigger}) no coincidiría: {reason}',
  'rules.runPlaceholder': 'Ejecutar ahora en este ticket una regla que coincide…',
  'rules.ran': '**{rule}** ejecutada en el ticket #{number}: {actions}.',
  'rules.ranNoMatch': '**{rule}** ya no coincide con el ticket #{number}, así que no se hizo nada: {reason}',
  'rules.ranFailed': '**{rule}** falló en el ticket #{number} y no cambió nada: {reason}',
  'rules.ruleNotFound':
    'Esa regla no existe en esta organización. Puede que se haya eliminado: abre la simulación de nuevo.',
  'rules.ruleDisabled': 'Esa regla está desactivada. Actívala en el panel para ejecutarla.',
};
