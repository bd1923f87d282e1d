import type { enAdmin } from './en.js';

/** Português (Brasil): configuração, menu de canais espelhados, permissões faltando (nomes do Discord). */
export const ptBRAdmin: Record<keyof typeof enAdmin, string> = {
  'list.and': '{rest} e {last}',
  'permission.View Channels': 'Ver canais',
  'permission.Send Messages': 'Enviar mensagens',
  'permission.Send Messages in Threads': 'Enviar mensagens em tópicos',
  'permission.Create Private Threads': 'Criar tópicos privados',
  'permission.Create Public Threads': 'Criar tópicos públicos',
  'permission.Manage Threads': 'Gerenciar tópicos',
  'permission.Manage Channels': 'Gerenciar canais',
  'permission.Manage Roles': 'Gerenciar cargos',
  'permission.Manage Webhooks': 'Gerenciar webhooks',
  'permission.Embed Links': 'Inserir links',
  'permission.Attach Files': 'Anexar arquivos',
  'permission.Read Message History': 'Ver histórico de mensagens',
  'permission.Add Reactions': 'Adicionar reações',
  'permission.Mention @everyone, @here and All Roles': 'Mencionar @everyone, @here e todos os cargos',
  'permission.Manage Messages': 'Gerenciar mensagens',
  'refusal.forumTag':
    'Este fórum exige uma tag em cada postagem, e esta categoria de tickets não tem nenhuma. Um admin do servidor define uma com `/setup category name:<categoria> tag:<tag>`.',
  'refusal.missingOneIn':
    'Está faltando a permissão do Discord {names} em {channel}. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.missingOne':
    'Está faltando a permissão do Discord {names}. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.missingManyIn':
    'Estão faltando as permissões do Discord {names} em {channel}. Um admin do servidor pode dá-las ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.missingMany':
    'Estão faltando as permissões do Discord {names}. Um admin do servidor pode dá-las ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.neededIn':
    'O Discord recusou isso por falta de uma permissão em {channel}: preciso de {names} lá, e meu cargo precisa estar acima dos cargos que gerencio. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.needed':
    'O Discord recusou isso por falta de uma permissão: preciso de {names} lá, e meu cargo precisa estar acima dos cargos que gerencio. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.neededSeeIn':
    'O Discord recusou isso por falta de uma permissão em {channel}: preciso de {names} lá e de ver o canal, e meu cargo precisa estar acima dos cargos que gerencio. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.neededSee':
    'O Discord recusou isso por falta de uma permissão: preciso de {names} lá e de ver o canal, e meu cargo precisa estar acima dos cargos que gerencio. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.unknownIn':
    'O Discord recusou isso por falta de uma permissão em {channel}. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'refusal.unknown':
    'O Discord recusou isso por falta de uma permissão. Um admin do servidor pode dá-la ao meu cargo, ou nas permissões do canal; depois, tente de novo.',
  'setup.inServer': 'Execute /setup no seu servidor.',
  'setup.linkAdminOnly': 'Só admins do servidor (Gerenciar servidor) podem vincular este servidor.',
  'setup.linked':
    'Este servidor agora está vinculado à sua organização do GameMod. Próximos passos: `/setup channels`, `/setup role`, `/setup category` e depois `/panel`.',
  'setup.ownerOnly':
    'Só o dono do servidor pode criar uma nova organização. Os outros vinculam com `/setup link` e um código do painel.',
  'setup.created':
    'A organização do GameMod **{name}** foi criada, é sua, e este servidor foi vinculado a ela. Próximos passos: `/setup channels`, `/setup role`, `/setup category` e depois `/panel`.',
  'setup.rolesPermission':
    'Associar cargos exige a permissão `roles.manage` da sua própria participação no GameMod (vincule sua conta do Discord no painel).',
  'setup.permission':
    'Você precisa de “Gerenciar servidor” no Discord ou da permissão `guilds.manage` no GameMod.',
  'setup.missingOne':
    'Está faltando {names} em {channel}. Dê essa permissão ao meu cargo (ou nas permissões desse canal) e execute de novo. Nada foi salvo.',
  'setup.missingMany':
    'Estão faltando {names} em {channel}. Dê essas permissões ao meu cargo (ou nas permissões desse canal) e execute de novo. Nada foi salvo.',
  'setup.noTag': '{forum} não tem a tag “{tag}”. As tags dele: {names}.',
  'setup.tagsNone': 'nenhuma ainda',
  'setup.tagRequired':
    '{forum} exige uma tag em cada postagem, então os tickets dele precisam de uma: adicione `tag:` com uma de {names}. Nada foi salvo.',
  'setup.noChannel': 'Informe pelo menos um canal.',
  'setup.channelsSaved': 'Canais salvos.',
  'setup.placeThread': '{channel} não serve para o modo tópico: use um canal de texto.',
  'setup.placeForum': '{channel} não serve para o modo fórum: use um canal de fórum.',
  'setup.placeChannel': '{channel} não serve para o modo canal: use uma categoria de canais.',
  'setup.forumNeedsChannel': 'O modo fórum precisa de um canal de fórum.',
  'setup.channelNeedsCategory': 'O modo canal precisa de uma categoria de canais.',
  'setup.tagForumOnly': 'Uma tag só serve no modo fórum.',
  'setup.categorySaved': 'Categoria **{name}** salva ({mode}).',
  'setup.categorySavedIn': 'Categoria **{name}** salva ({mode} em {channel}).',
  'setup.forumPublic':
    'Observação: postagens de fórum são públicas. Quem pode ver {place} lê cada ticket postado lá, inclusive o que os jogadores escrevem. Para tickets privados, use tópicos privados: `/setup category name:{name} mode:private thread channel:<um canal de texto>`.',
  'setup.theForum': 'o fórum',
  'setup.everyoneRole': 'Associe um cargo de verdade, não @everyone.',
  'setup.roleMapped': '{role} agora atua como **{key}**.',
  'setup.roleUnmapped': '{role} não está mais associado.',
  'setup.roleNotMapped': '{role} não estava associado.',
  'setup.noLimits': 'Informe max_open ou cooldown.',
  'setup.limitsSaved': 'Limites salvos.',
  'setup.showSupport': 'Canal de suporte: {channel}',
  'setup.showTranscripts': 'Transcrições: {channel}',
  'setup.showAlerts': 'Alertas: {channel}',
  'setup.notSet': 'não definido',
  'setup.showLimits': 'Limites: {max} abertos por jogador, {seconds} s de espera',
  'setup.showRoles': 'Cargos: {roles}',
  'setup.noneMapped': 'nenhum associado',
  'mirror.notMirrored': 'Este canal não é espelhado no GameMod. Para denunciar a mensagem, use “{menu}”.',
  'mirror.notRecorded': 'Não foi possível registrar esta mensagem.',
  'mirror.opened':
    'Ticket #{number} aberto a partir desta mensagem. A equipe cuida dele na caixa de entrada do GameMod.',
  'mirror.already': 'Esta mensagem já é o ticket #{number}.',
  'rules.logTitle': 'Execuções de regras no ticket #{number}',
  'rules.logFooter': 'Mais recentes primeiro · página {page}',
  'rules.logFooterMore': 'Mais recentes primeiro · página {page} · há execuções mais antigas',
  'rules.logNone': 'Nenhuma regra de automação foi executada no ticket #{number} ainda.',
  'rules.logEnd': 'Não há execuções mais antigas.',
  'rules.eventHeader': 'Evento **{trigger}** · {when}',
  'rules.eventHeaderChain': '**{trigger}** · {when} · causado por uma regra (profundidade {depth})',
  'rules.entryApplied': '✅ **{rule}** fez: {actions}',
  'rules.entryNotMatched': '▫️ **{rule}** não correspondeu: {reason}',
  'rules.entrySkipped': '⏭️ **{rule}** foi ignorada: {reason}',
  'rules.entryFailed': '⚠️ **{rule}** falhou: {reason}',
  'rules.dryButton': 'Simulação',
  'rules.logButton': 'Registro de execuções',
  'rules.newest': 'Mais recentes',
  'rules.older': 'Mais antigas',
  'rules.prev': 'Anterior',
  'rules.next': 'Próxima',
  'rules.dryTitle': 'O que as regras fariam agora no ticket #{number}',
  'rules.dryFooter':
    '{matched} de {count} regras ativas correspondem · página {page} de {pages} · nada foi alterado',
  'rules.dryNone': 'Esta organização não tem regras de automação ativas.',
  'rules.dryMatch': '✅ **{rule}** ({trigger}) faria: {actions}',
  'rules.dryNoMatch': '▫️ **{rule}** ({trigger}) não corresponderia: {reason}',
  'rules.runPlaceholder': 'Executar agora neste ticket uma regra que corresponde…',
  'rules.ran': '**{rule}** executada no ticket #{number}: {actions}.',
  'rules.ranNoMatch': '**{rule}** não corresponde mais ao ticket #{number}, então nada foi feito: {reason}',
  'rules.ranFailed': '**{rule}** falhou no ticket #{number} e não alterou nada: {reason}',
  'rules.ruleNotFound':
    'Essa regra não foi encontrada nesta organização. Talvez tenha sido excluída: abra a simulação de novo.',
  'rules.ruleDisabled': 'Essa regra está desativada. Ative-a no painel para executá-la.',
};
