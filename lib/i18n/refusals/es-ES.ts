import type { enRefusals } from './en.js';

/** Español: los rechazos de db/ que llegan a las personas a través del bot. */
export const esESRefusals: Record<keyof typeof enRefusals, string> = {
  'deny.ticketNotFound': 'No se encontró el ticket.',
  'deny.staffOnly': 'Solo el equipo puede hacer esto.',
  'deny.merged': 'Este ticket se fusionó con otro ticket.',
  'deny.closedReply': 'El ticket #{number} está cerrado; reábrelo antes de responder.',
  'deny.statusStaffOnly': 'Solo el equipo puede cambiar el estado.',
  'deny.transition': 'No se puede cambiar el estado de {from} a {to}.',
  'deny.closedAssign': 'El ticket #{number} está cerrado; reábrelo antes de asignarlo.',
  'deny.assigneeNotMember': 'La persona asignada no es miembro de esta organización.',
  'deny.assigneeDisabled': 'La persona asignada no puede atender tickets: su cuenta está desactivada.',
  'deny.assigneeCannotWork': 'La persona asignada no puede atender tickets: a su rol le falta {permissions}.',
  'deny.claimStaffOnly': 'Solo un miembro del equipo puede atender un ticket.',
  'deny.playerCloseOwn': 'Los jugadores solo pueden cerrar sus propios tickets.',
  'deny.notReopenable': 'El ticket #{number} está {status}, no resuelto ni cerrado.',
  'deny.tooManyTags': 'Un ticket lleva como máximo 50 etiquetas.',
  'deny.alreadyRated': 'El ticket #{number} ya se valoró.',
  'deny.rateWhenDone': 'Un ticket se puede valorar cuando está resuelto o cerrado.',
  'deny.cannedUnknown': 'No hay ninguna respuesta predefinida «{name}».',
  'deny.guildNotLinked': 'Este servidor no está vinculado a la organización.',
  'deny.guildCodeUnknown': 'Este código de vinculación es desconocido, ya se usó o caducó.',
  'deny.guildLinkedElsewhere': 'Este servidor ya está vinculado a otra organización.',
  'deny.guildAlreadyLinked': 'Este servidor ya está vinculado a una organización.',
  'deny.playerCodeUnknown': 'Ese código es desconocido, ya se usó o caducó.',
  'deny.gameAccountLinkedElsewhere':
    'Esa cuenta de juego ya está vinculada a otra cuenta de Discord; un código nunca la traslada (el equipo puede desvincularla primero).',
  'deny.discordLinkedElsewhere':
    'Esta cuenta de Discord ya está vinculada a otra cuenta de este juego; un código nunca la sustituye (el equipo puede desvincularla primero).',
  'deny.noRole': 'No hay ningún rol «{key}» en esta organización.',
  'deny.discordOwner':
    'Un rol de Discord no puede hacer propietario a nadie: los propietarios se añaden en el panel.',
  'deny.ownerOnlyGrant': 'Solo un propietario puede hacer propietario a alguien.',
  'deny.ownerOnlyUnmap': 'Solo un propietario puede quitar la asignación del rol de propietario.',
  'deny.grantNotHeldOne': 'No puedes conceder {list}: no lo tienes tú.',
  'deny.grantNotHeldMany': 'No puedes conceder {list}: no los tienes tú.',
  'deny.unmapNotHeld': 'No puedes cambiar esta asignación: su rol tiene {list}, que tú no tienes.',
  'deny.closeRequestNoPlayer': 'El ticket #{number} no tiene ningún jugador a quien preguntar.',
  'deny.closeRequestPending':
    'Una solicitud de cierre del ticket #{number} ya espera la respuesta del jugador.',
  'deny.closeRequestGone': 'Esta solicitud de cierre ya no existe.',
  'deny.closeRequestOnlyPlayer': 'Solo el jugador que abrió el ticket #{number} puede responder a esto.',
  'deny.closeRequestConfirmed': 'Esta solicitud de cierre ya se confirmó.',
  'deny.closeRequestDeclined': 'Esta solicitud de cierre ya se rechazó.',
  'deny.closeRequestTimedOut': 'El plazo de esta solicitud de cierre ya pasó.',
  'deny.closeRequestCancelled': 'Esta solicitud de cierre se canceló.',
};
