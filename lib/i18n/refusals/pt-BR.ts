import type { enRefusals } from './en.js';

/** Português (Brasil): recusas de db/ que chegam às pessoas pelo bot. */
export const ptBRRefusals: Record<keyof typeof enRefusals, string> = {
  'deny.ticketNotFound': 'Ticket não encontrado.',
  'deny.staffOnly': 'Só a equipe pode fazer isso.',
  'deny.merged': 'Este ticket foi mesclado a outro ticket.',
  'deny.closedReply': 'O ticket #{number} está fechado; reabra-o antes de responder.',
  'deny.statusStaffOnly': 'Só a equipe pode definir o status.',
  'deny.transition': 'Não é possível mudar o status de {from} para {to}.',
  'deny.closedAssign': 'O ticket #{number} está fechado; reabra-o antes de atribuí-lo.',
  'deny.assigneeNotMember': 'A pessoa atribuída não é membro desta organização.',
  'deny.assigneeDisabled': 'A pessoa atribuída não pode atender tickets: a conta dela está desativada.',
  'deny.assigneeCannotWork':
    'A pessoa atribuída não pode atender tickets: falta ao papel dela {permissions}.',
  'deny.claimStaffOnly': 'Só um membro da equipe pode assumir um ticket.',
  'deny.playerCloseOwn': 'Jogadores só podem fechar os próprios tickets.',
  'deny.notReopenable': 'O ticket #{number} está {status}, não resolvido nem fechado.',
  'deny.tooManyTags': 'Um ticket tem no máximo 50 tags.',
  'deny.alreadyRated': 'O ticket #{number} já foi avaliado.',
  'deny.rateWhenDone': 'Um ticket pode ser avaliado quando estiver resolvido ou fechado.',
  'deny.cannedUnknown': 'Nenhuma resposta pronta “{name}”.',
  'deny.guildNotLinked': 'Este servidor não está vinculado à organização.',
  'deny.guildCodeUnknown': 'Este código de vinculação é desconhecido, já foi usado ou expirou.',
  'deny.guildLinkedElsewhere': 'Este servidor já está vinculado a outra organização.',
  'deny.guildAlreadyLinked': 'Este servidor já está vinculado a uma organização.',
  'deny.playerCodeUnknown': 'Esse código é desconhecido, já foi usado ou expirou.',
  'deny.gameAccountLinkedElsewhere':
    'Essa conta do jogo já está vinculada a outra conta do Discord; um código nunca a transfere (a equipe pode desvinculá-la antes).',
  'deny.discordLinkedElsewhere':
    'Esta conta do Discord já está vinculada a outra conta deste jogo; um código nunca a substitui (a equipe pode desvinculá-la antes).',
  'deny.noRole': 'Nenhum cargo “{key}” nesta organização.',
  'deny.discordOwner':
    'Um cargo do Discord não pode tornar ninguém dono: os donos são adicionados no painel.',
  'deny.ownerOnlyGrant': 'Só um dono pode tornar alguém dono.',
  'deny.ownerOnlyUnmap': 'Só um dono pode desfazer a associação do cargo de dono.',
  'deny.grantNotHeldOne': 'Você não pode conceder {list}: você mesmo não tem essa permissão.',
  'deny.grantNotHeldMany': 'Você não pode conceder {list}: você mesmo não tem essas permissões.',
  'deny.unmapNotHeld': 'Você não pode mudar esta associação: o cargo dela tem {list}, que você não tem.',
  'deny.closeRequestNoPlayer': 'O ticket #{number} não tem jogador para perguntar.',
  'deny.closeRequestPending':
    'Um pedido de fechamento do ticket #{number} já está esperando a resposta do jogador.',
  'deny.closeRequestGone': 'Este pedido de fechamento não existe mais.',
  'deny.closeRequestOnlyPlayer': 'Só o jogador que abriu o ticket #{number} pode responder a isto.',
  'deny.closeRequestConfirmed': 'Este pedido de fechamento já foi confirmado.',
  'deny.closeRequestDeclined': 'Este pedido de fechamento já foi recusado.',
  'deny.closeRequestTimedOut': 'O prazo deste pedido de fechamento acabou.',
  'deny.closeRequestCancelled': 'Este pedido de fechamento foi cancelado.',
};
