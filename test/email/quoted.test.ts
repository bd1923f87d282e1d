import { describe, expect, it } from 'vitest';
import { parseEmail } from '../../lib/email/parse.js';
import { stripQuoted } from '../../lib/email/thread-text.js';
import { outlookHtmlReply } from './support.js';

/**
 * Replies as the mail clients players use write them, in Polish, Italian, Dutch, Russian,
 * Japanese and Turkish: the attribution line Gmail, Apple Mail, Thunderbird or Outlook mobile
 * puts above the quote (wrapped over two lines where Gmail wraps it), Outlook's "Original
 * Message" separator, and the From/Sent/To/Subject block Outlook, Apple Mail and Gmail write
 * above a quoted or forwarded mail. The player's words stay; nothing of the quote does.
 */
const quote = '> Proszę zweryfikować pliki gry.\n> [ref:abcdefghijklmnop0123]';
const reply = (said: string, attribution: string, quoted = quote) => `${said}\n\n${attribution}\n${quoted}\n`;

describe('stripQuoted: attribution lines', () => {
  it.each([
    ['pl, Gmail', 'Dzięki, działa.', 'pon., 7 gru 2026 o 10:00 Support <support@example.com> napisał(a):'],
    [
      'pl, Gmail wrapped',
      'Dzięki, działa.',
      'pon., 7 gru 2026 o 10:00 Studio Support Team <support@example.com>\nnapisał(a):',
    ],
    ['pl, Thunderbird', 'Dzięki, działa.', 'W dniu 7.12.2026 o 10:00, Support pisze:'],
    [
      'pl, Apple Mail',
      'Dzięki, działa.',
      'Wiadomość napisana przez Support <support@example.com> w dniu 7 gru 2026, o godz. 10:00:',
    ],
    [
      'it, Gmail',
      'Grazie, funziona.',
      'Il giorno lun 7 dic 2026 alle ore 10:00 Support <support@example.com> ha scritto:',
    ],
    [
      'it, Gmail wrapped',
      'Grazie, funziona.',
      'Il giorno lun 7 dic 2026 alle ore 10:00 Studio Support Team <\nsupport@example.com> ha scritto:',
    ],
    [
      'it, Outlook mobile',
      'Grazie, funziona.',
      'In data 7 dicembre 2026 10:00:31 "Support" <support@example.com> ha scritto:',
    ],
    ['nl, Gmail', 'Bedankt, het werkt.', 'Op ma 7 dec 2026 om 10:00 schreef Support <support@example.com>:'],
    [
      'nl, Apple Mail',
      'Bedankt, het werkt.',
      'Op 7 dec 2026, om 10:00 heeft Support <support@example.com> het volgende geschreven:',
    ],
    ['nl, Thunderbird', 'Bedankt, het werkt.', 'Op 07-12-2026 om 10:00 schreef Support:'],
    ['ru, Gmail', 'Спасибо, работает.', 'пн, 7 дек. 2026 г. в 10:00, Support <support@example.com>:'],
    [
      'ru, Gmail wrapped',
      'Спасибо, работает.',
      'пн, 7 дек. 2026 г. в 10:00, Studio Support Team <\nsupport@example.com>:',
    ],
    [
      'ru, Apple Mail',
      'Спасибо, работает.',
      '7 дек. 2026 г., в 10:00, Support <support@example.com> написал(а):',
    ],
    ['ru, Thunderbird', 'Спасибо, работает.', '07.12.2026 10:00, Support пишет:'],
    [
      'ja, Gmail',
      'ありがとうございます。直りました。',
      '2026年12月7日(月) 10:00 Support <support@example.com>:',
    ],
    [
      'ja, Apple Mail',
      'ありがとうございます。直りました。',
      '2026/12/07 10:00、Support <support@example.com>のメール:',
    ],
    [
      'tr, Gmail',
      'Teşekkürler, düzeldi.',
      '7 Ara 2026 Pzt, 10:00 tarihinde Support <support@example.com> şunu yazdı:',
    ],
    [
      'tr, Apple Mail',
      'Teşekkürler, düzeldi.',
      '7 Ara 2026 tarihinde 10:00 saatinde, Support <support@example.com> şunları yazdı:',
    ],
  ])('cuts the %s attribution line and the quote under it', (_, said, attribution) => {
    expect(stripQuoted(reply(said, attribution))).toBe(said);
  });

  it.each([
    ['pl', 'Dzięki, działa.', 'Wysłane z iPhone’a', 'W dniu 7.12.2026 o 10:00, Support pisze:'],
    [
      'it',
      'Grazie, funziona.',
      'Inviato da iPhone',
      'Il giorno 7 dic 2026, alle ore 10:00, Support ha scritto:',
    ],
    [
      'nl',
      'Bedankt, het werkt.',
      'Verstuurd vanaf mijn iPhone',
      'Op 7 dec 2026, om 10:00 heeft Support het volgende geschreven:',
    ],
    ['ru', 'Спасибо, работает.', 'Отправлено с iPhone', '7 дек. 2026 г., в 10:00, Support написал(а):'],
    ['ja', '直りました。', 'iPhoneから送信', '2026/12/07 10:00、Support <support@example.com>のメール:'],
    [
      'tr',
      'Teşekkürler, düzeldi.',
      'iPhone’umdan gönderildi',
      '7 Ara 2026 tarihinde 10:00 saatinde, Support şunları yazdı:',
    ],
  ])("cuts Apple Mail's %s signature with the quote", (_, said, signature, attribution) => {
    expect(stripQuoted(`${said}\n\n${signature}\n\n${attribution}\n${quote}`)).toBe(said);
  });
});

describe("stripQuoted: Outlook's separator and header blocks", () => {
  it.each([
    ['pl', '-----Wiadomość oryginalna-----', 'Od: Support [mailto:support@example.com]'],
    ['it', '-----Messaggio originale-----', 'Da: Support [mailto:support@example.com]'],
    ['nl', '-----Oorspronkelijk bericht-----', 'Van: Support [mailto:support@example.com]'],
    ['ru', '-----Исходное сообщение-----', 'От: Support [mailto:support@example.com]'],
    ['ja', '-----元のメッセージ-----', '差出人: Support [mailto:support@example.com]'],
    ['tr', '-----Özgün İleti-----', 'Kimden: Support [mailto:support@example.com]'],
  ])('cuts the %s "Original Message" block', (_, separator, from) => {
    expect(stripQuoted(`Still broken.\n\n${separator}\n${from}\nquoted text`)).toBe('Still broken.');
  });

  // Outlook's plain-text reply: a rule of underscores, then the block with the labels in the
  // sender's language.
  it.each([
    ['pl', ['Od:', 'Wysłane:', 'Do:', 'Temat:']],
    ['it', ['Da:', 'Inviato:', 'A:', 'Oggetto:']],
    ['nl', ['Van:', 'Verzonden:', 'Aan:', 'Onderwerp:']],
    ['ru', ['От:', 'Отправлено:', 'Кому:', 'Тема:']],
    ['ja', ['差出人:', '送信日時:', '宛先:', '件名:']],
    ['tr', ['Kimden:', 'Gönderildi:', 'Kime:', 'Konu:']],
  ] as const)('cuts the rule and header block of an Outlook reply (%s)', (_, [from, sent, to, subject]) => {
    const text = [
      'Still broken.',
      '',
      '________________________________',
      `${from} Support <support@example.com>`,
      `${sent} 7 12 2026 10:00`,
      `${to} Ana <ana@players.example>`,
      `${subject} Crash`,
      '',
      'Please verify the game files.',
    ].join('\n');
    expect(stripQuoted(text)).toBe('Still broken.');
  });

  // Outlook's HTML-only reply, turned into text by the parser: the <hr> becomes a line of dashes.
  it.each([
    ['pl', ['Od:', 'Wysłane:', 'Do:', 'Temat:']],
    ['it', ['Da:', 'Inviato:', 'A:', 'Oggetto:']],
    ['nl', ['Van:', 'Verzonden:', 'Aan:', 'Onderwerp:']],
    ['ru', ['От:', 'Отправлено:', 'Кому:', 'Тема:']],
    ['ja', ['差出人:', '送信日時:', '宛先:', '件名:']],
    ['tr', ['Kimden:', 'Gönderildi:', 'Kime:', 'Konu:']],
  ] as const)('cuts the rule and header block of an Outlook HTML-only reply (%s)', async (_, headers) => {
    const parsed = await parseEmail(
      outlookHtmlReply({
        to: 'support@example.com',
        subject: 'RE: Crash',
        body: 'Still crashing after the update.',
        quoted: 'Please try verifying the game files.<br>[ref:abcdefghijklmnop0123]',
        headers: [...headers],
      }),
      null,
    );
    expect(stripQuoted(parsed.text)).toBe('Still crashing after the update.');
  });

  // Apple Mail's and Gmail's block above a forwarded mail: Gmail localizes "From" only.
  it.each([
    ['pl, Apple Mail', ['Od:', 'Temat:', 'Data:', 'Do:']],
    ['ru, Apple Mail', ['От кого:', 'Тема:', 'Дата:', 'Кому:']],
    ['ja, Apple Mail', ['差出人:', '件名:', '日付:', '宛先:']],
    ['tr, Apple Mail', ['Kimden:', 'Konu:', 'Tarih:', 'Kime:']],
    ['it, Gmail', ['Da:', 'Date:', 'Subject:', 'To:']],
    ['nl, Gmail', ['Van:', 'Date:', 'Subject:', 'To:']],
  ] as const)('cuts the %s header block', (_, [from, second, third, fourth]) => {
    const text = [
      'See below.',
      '',
      `${from} Support <support@example.com>`,
      `${second} Crash`,
      `${third} 7 12 2026 10:00`,
      `${fourth} Ana <ana@players.example>`,
      '',
      'Please verify the game files.',
    ].join('\n');
    expect(stripQuoted(text)).toBe('See below.');
  });
});

describe("stripQuoted keeps the player's own text", () => {
  it.each([
    ['"wrote:" mid-sentence', 'As I wrote: the game crashes on launch.\nIt still does.'],
    [
      '"wrote:" ending a line of their own',
      'It crashes.\nOn Monday my friend wrote:\nthe game crashes for him too.',
    ],
    [
      'a German line of their own',
      'Es stürzt ab.\nAm Montag schrieb mir ein Freund:\nDas Spiel stürzt bei ihm auch ab.',
    ],
    [
      'a Polish line of their own',
      'Gra nie działa.\nW dniu premiery kolega napisał:\ngra się nie uruchamia.',
    ],
    ['a Russian line of their own', 'Игра вылетает.\nДруг написал:\nигра не запускается.'],
    ['an Italian line of their own', 'Il gioco crasha.\nIl mio amico ha scritto:\nil gioco non parte.'],
    ['a Turkish line of their own', 'Oyun çöküyor.\nArkadaşım şunu yazdı:\noyun açılmıyor.'],
    ['a "From:" line of their own', 'Hi,\nFrom: my phone, sorry for typos\nThe game crashes.'],
  ])('keeps %s', (_, text) => {
    expect(stripQuoted(text)).toBe(text);
  });
});
