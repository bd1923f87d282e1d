import type { enPosts } from './en.js';

/** Español: el resumen de un ticket, el aviso de transcripción, los mensajes directos del modmail. */
export const esESPosts: Record<keyof typeof enPosts, string> = {
  'summary.openedBy': '(abierto por {user})',
  'summary.category': 'Categoría: **{name}**',
  'summary.staffAnswer':
    'El equipo responderá aquí. Escribe abajo para añadir detalles o capturas de pantalla.',
  'summary.viaDm':
    'Abierto por mensaje directo: el jugador no está en este hilo. Sus mensajes directos aparecen aquí, y lo que el equipo escribe aquí le llega por mensaje directo (`/ticket note` sigue siendo interno).',
  'summary.reported': 'Mensaje denunciado',
  'summary.reportedBy': 'de {author} · [ir al mensaje]({url})',
  'summary.answerSubject': 'Asunto',
  'summary.answerMessage': 'Texto del mensaje',
  'summary.answerOpenedBy': 'Abierto por el equipo',
  'summary.priority': 'Prioridad: {priority}',
  'summary.footer': 'Prioridad: {priority} · Estado: {status}',
  'summary.footerClaimed': 'Prioridad: {priority} · Estado: {status} · Atendido por {name}',
  'summary.claim': 'Atender',
  'summary.close': 'Cerrar',
  'summary.setPriority': 'Elegir la prioridad',
  'priority.low': 'Baja',
  'priority.normal': 'Normal',
  'priority.high': 'Alta',
  'priority.urgent': 'Urgente',
  'status.open': 'abierto',
  'status.pending': 'pendiente',
  'status.on_hold': 'en espera',
  'status.solved': 'resuelto',
  'status.closed': 'cerrado',
  'panel.defaultTitle': '¿Necesitas ayuda?',
  'panel.defaultText': 'Elige un tema abajo para abrir un ticket privado con nuestro equipo.',
  'panel.chooseTopic': 'Elige un tema',
  'transcript.closedBy': 'Cerrado por {name}',
  'transcript.closedByReason': 'Cerrado por {name}: {reason}',
  'transcript.closedAuto': 'Cerrado automáticamente',
  'transcript.closedAutoReason': 'Cerrado automáticamente: {reason}',
  'transcript.link': 'Transcripción: {url}',
  'relay.dmRefused':
    '⚠️ Las respuestas no llegan a {player}: Discord rechaza mis mensajes directos a este jugador (tiene los mensajes directos cerrados, o ya no compartimos servidor). Cada respuesta nueva se intenta una vez; se os avisará aquí de nuevo si vuelve a fallar después de que una llegue.',
  'dm.nul': 'Los mensajes no pueden contener el carácter NUL (U+0000); envíalo de nuevo sin él.',
  'dm.tooFast':
    'Envías mensajes más rápido de lo que puedo recibirlos. Espera un minuto y vuelve a enviarlos.',
  'dm.chooseFirst': 'Primero elige un servidor y una categoría arriba; luego vuelve a escribir.',
  'dm.keeping': 'Guardo esto con tu primer mensaje: elige un servidor y una categoría arriba para enviarlos.',
  'dm.noSharedServer':
    'No encontré ningún servidor en común que acepte tickets a través de mí. Abre un ticket desde el servidor.',
  'dm.whichServer':
    '¿Para qué servidor es tu mensaje? Elige abajo; lo que escribiste se guarda hasta entonces.',
  'dm.chooseServer': 'Elige un servidor',
  'dm.whichCategory': '¿De qué trata tu mensaje a **{server}**?',
  'dm.chooseCategory': 'Elige una categoría',
  'dm.opened':
    'Tu ticket #{number} con **{server}** está abierto. El equipo responderá aquí; todo lo que envíes en este chat se añade a él.',
  'dm.alreadyOpened': 'Tu mensaje ya abrió el ticket #{number} con **{server}**; sigue escribiendo aquí.',
  'dm.expiredChoice': 'Tu mensaje ha caducado (15 minutos). Envíalo de nuevo para abrir un ticket.',
};
