import type { enPosts } from './en.js';

/** Português (Brasil): o resumo de um ticket, o aviso de transcrição, as DMs do modmail. */
export const ptBRPosts: Record<keyof typeof enPosts, string> = {
  'summary.openedBy': '(aberto por {user})',
  'summary.category': 'Categoria: **{name}**',
  'summary.staffAnswer':
    'A equipe vai responder aqui. Escreva abaixo para adicionar detalhes ou capturas de tela.',
  'summary.viaDm':
    'Aberto por mensagem direta: o jogador não está neste tópico. As DMs dele aparecem aqui, e o que a equipe escreve aqui chega a ele por DM (`/ticket note` continua interno).',
  'summary.reported': 'Mensagem denunciada',
  'summary.reportedBy': 'de {author} · [ir para a mensagem]({url})',
  'summary.answerSubject': 'Assunto',
  'summary.answerMessage': 'Texto da mensagem',
  'summary.answerOpenedBy': 'Aberto pela equipe',
  'summary.priority': 'Prioridade: {priority}',
  'summary.footer': 'Prioridade: {priority} · Status: {status}',
  'summary.footerClaimed': 'Prioridade: {priority} · Status: {status} · Assumido por {name}',
  'summary.claim': 'Assumir',
  'summary.close': 'Fechar',
  'summary.setPriority': 'Definir a prioridade',
  'priority.low': 'Baixa',
  'priority.normal': 'Normal',
  'priority.high': 'Alta',
  'priority.urgent': 'Urgente',
  'status.open': 'aberto',
  'status.pending': 'pendente',
  'status.on_hold': 'em espera',
  'status.solved': 'resolvido',
  'status.closed': 'fechado',
  'panel.defaultTitle': 'Precisa de ajuda?',
  'panel.defaultText': 'Escolha um assunto abaixo para abrir um ticket privado com a nossa equipe.',
  'panel.chooseTopic': 'Escolha um assunto',
  'transcript.closedBy': 'Fechado por {name}',
  'transcript.closedByReason': 'Fechado por {name}: {reason}',
  'transcript.closedAuto': 'Fechado automaticamente',
  'transcript.closedAutoReason': 'Fechado automaticamente: {reason}',
  'transcript.link': 'Transcrição: {url}',
  'relay.dmRefused':
    '⚠️ As respostas não estão chegando a {player}: o Discord recusa minhas mensagens diretas para esse jogador (as DMs dele estão fechadas, ou não compartilhamos mais um servidor). Cada nova resposta é tentada uma vez; vocês serão avisados aqui de novo se falhar depois que uma passar.',
  'dm.nul': 'As mensagens não podem conter o caractere NUL (U+0000); envie de novo sem ele.',
  'dm.tooFast':
    'Você está enviando mensagens mais rápido do que consigo receber. Espere um minuto e envie de novo.',
  'dm.chooseFirst': 'Escolha primeiro um servidor e uma categoria acima; depois escreva de novo.',
  'dm.keeping':
    'Vou guardar isto com a sua primeira mensagem: escolha um servidor e uma categoria acima para enviá-las.',
  'dm.noSharedServer':
    'Não encontrei nenhum servidor em comum que aceite tickets por mim. Abra um ticket pelo servidor.',
  'dm.whichServer':
    'Para qual servidor é a sua mensagem? Escolha abaixo; o que você escreveu fica guardado até lá.',
  'dm.chooseServer': 'Escolha um servidor',
  'dm.whichCategory': 'Sobre o que é a sua mensagem para **{server}**?',
  'dm.chooseCategory': 'Escolha uma categoria',
  'dm.opened':
    'Seu ticket #{number} com **{server}** está aberto. A equipe vai responder aqui; tudo o que você enviar nesta DM é adicionado a ele.',
  'dm.alreadyOpened': 'Sua mensagem já abriu o ticket #{number} com **{server}**; continue escrevendo aqui.',
  'dm.expiredChoice': 'Sua mensagem expirou (15 minutos). Envie de novo para abrir um ticket.',
};
