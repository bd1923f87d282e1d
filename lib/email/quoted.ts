/**
 * Stripping quoted history and signatures from a reply (the original stays in storage). The
 * patterns are the lines mail clients write above the mail they quote, as Gmail, Apple Mail,
 * Thunderbird and Outlook write them in the languages players write in. Each one names a date
 * or a time, as a client's line always does, so a sentence of the player's own ("On Monday my
 * friend wrote:", "Am Montag schrieb mir ein Freund:") never cuts the reply short.
 */

// A time (10:00, 10.00) or a four-digit year: in every attribution line, rare in a player's line.
const DATED = String.raw`(?=.*(?:\d{1,2}[:.]\d{2}|\d{4}))`;
const TIME = String.raw`\d{1,2}:\d{2}`;
const line = (source: string) => new RegExp(`^${DATED}${source}\\s*[:：]\\s*$`, 'iu');

const ATTRIBUTIONS: RegExp[] = [
  // "On Tue, 3 Mar 2026 at 10:02, Ana <a@b.c> wrote:" (Gmail), "On 3 Mar 2026, at 10:02, Ana
  // wrote:" (Apple Mail), "Le ... a écrit :", "El ... escribió:", "Em ... escreveu:",
  // "Il giorno ... ha scritto:" (Gmail, Italian), "Dnia ... napisał(a):".
  line(
    String.raw`(?:on|le|am|el|il|op|em|den|dnia)\s.{0,400}\s(?:wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał(?:\(a\)|a)?)`,
  ),
  // German, Dutch and Swedish put the verb before the name: "Am Mo., 7. Dez. 2026 um 10:00 Uhr
  // schrieb Ana <a@b.c>:" (Gmail), "Am 07.12.26 um 10:00 schrieb Ana:" (Thunderbird),
  // "Op ma 7 dec 2026 om 10:00 schreef Ana <a@b.c>:" (Gmail, Dutch).
  line(String.raw`(?:am|op|den)\s.{0,200}\d{1,2}[:.]\d{2}\b.{0,200}\s(?:schrieb|schreef|skrev)\s.{0,300}`),
  // Polish. Gmail: "pon., 7 gru 2026 o 10:00 Ana <a@b.c> napisał(a):"; Thunderbird: "W dniu
  // 7.12.2026 o 10:00, Ana pisze:"; Apple Mail: "Wiadomość napisana przez Ana <a@b.c> w dniu
  // 7 gru 2026, o godz. 10:00:".
  line(String.raw`(?:pon|wt|śr|czw|pt|sob|niedz)\.?,\s.{0,100}\so\s${TIME}\s.{0,300}\snapisał(?:\(a\)|a)?`),
  line(String.raw`w dniu\s.{0,200}\s(?:pisze|napisał(?:\(a\)|a)?)`),
  line(String.raw`wiadomość napisana przez\s.{0,300}\sw dniu\s.{0,100}${TIME}`),
  // Italian from Outlook for Android and iOS: "In data 7 dicembre 2026 10:00:31 Ana <a@b.c> ha scritto:".
  line(String.raw`in data\s.{0,400}\sha scritto`),
  // Dutch from Apple Mail: "Op 7 dec 2026, om 10:00 heeft Ana <a@b.c> het volgende geschreven:".
  line(String.raw`op\s.{0,200}\sheeft\s.{0,300}\shet volgende geschreven`),
  // Russian. Gmail writes no verb: "пн, 7 дек. 2026 г. в 10:00, Ana <a@b.c>:"; Apple Mail
  // "7 дек. 2026 г., в 10:00, Ana <a@b.c> написал(а):"; Thunderbird "07.12.2026 10:00, Ana пишет:".
  line(String.raw`(?:пн|вт|ср|чт|пт|сб|вс),\s.{0,40}\d{4}\sг\.\sв\s${TIME},\s.{0,300}[<\[].{1,300}[>\]]`),
  line(String.raw`\d{1,2}[\s.].{0,60}${TIME}.{0,300}\s(?:написал\(а\)|написала|написал|пишет)`),
  // Japanese. Gmail: "2026年12月7日(月) 10:00 Ana <a@b.c>:"; Apple Mail: "2026/12/07 10:00、Ana
  // <a@b.c>のメール:" (older versions: "のメッセージ:").
  line(String.raw`\d{4}年\d{1,2}月\d{1,2}日\s?[(（].[)）]\s*${TIME}\s.{0,300}[<\[].{1,300}[>\]]`),
  line(String.raw`\d{4}\/\d{1,2}\/\d{1,2}\s${TIME}[、,]\s?.{1,300}の(?:メール|メッセージ)`),
  // Turkish. Gmail: "7 Ara 2026 Pzt, 10:00 tarihinde Ana <a@b.c> şunu yazdı:"; Apple Mail:
  // "7 Ara 2026 tarihinde 10:00 saatinde, Ana <a@b.c> şunları yazdı:".
  line(String.raw`\d{1,2}\s.{0,100}\starihinde\s.{0,300}\s(?:şunu|şunları)\s+yazdı`),
];

// Outlook's "Original Message" separator (and Thunderbird's), in the same languages.
const SEPARATOR = new RegExp(
  String.raw`^(-{2,}\s*(${[
    'original message',
    'ursprüngliche nachricht',
    "message d'origine",
    'mensaje original',
    'mensagem original',
    'wiadomość oryginalna',
    'oryginalna wiadomość',
    'messaggio originale',
    'oorspronkelijk bericht',
    'исходное сообщение',
    '元のメッセージ',
    'özgün [İi]leti',
    'orijinal (?:mesaj|[İi]leti)',
  ].join('|')})\s*-{2,}|_{20,})\s*$`,
  'iu',
);
// A rule line: Outlook's "_____" in text, or its HTML <hr> as the parser renders it ("-----").
const RULE = /^(-{5,}|_{5,})$/;
// The first line of a quoted header block (Outlook's; Apple Mail's and Gmail's forwarded ones
// too), then the labels that follow it within three lines, in the same languages. Gmail
// localizes only "From" and keeps Date, Subject and To in English.
const FROM_LABEL = /^\*?(from|von|de|van|od|da|от(?: кого)?|差出人|kimden)\s*(?::\*?\s|：)/iu;
const NEXT_LABEL = new RegExp(
  String.raw`^\*?(${[
    'sent|date|to|subject|cc',
    'gesendet|an|betreff|datum',
    'envoyé|à|objet',
    'enviado|data|fecha|para|asunto|assunto',
    'wysłano|wysłane|do|temat|dw',
    'inviato|a|oggetto',
    'verzonden|aan|onderwerp',
    'отправлено|дата|кому|тема|копия',
    '送信日時|日付|宛先|件名',
    'gönderildi|gönderilme|tarih|kime|konu|bilgi',
  ].join('|')})\s*[:：]`,
  'iu',
);
const SIGNATURE = [
  /^--\s?$/,
  /^sent from my (iphone|ipad|android|samsung|galaxy|pixel|mobile)/i,
  /^get outlook for (ios|android)/i,
  /^sent from (mail|outlook) for windows/i,
  /^sent (with|from) (proton mail|protonmail|yahoo mail)/i,
  // Apple's "Sent from my iPhone" in the languages above.
  /^(wysłane z (iphone|ipada)|inviato da (iphone|ipad)|verstuurd vanaf mijn (iphone|ipad)|отправлено с (iphone|ipad))/iu,
  /^((iphone|ipad)から送信|(iphone|ipad)['’]?(umdan|imden) gönderildi)/iu,
];

const isAttribution = (text: string) => ATTRIBUTIONS.some((re) => re.test(text));

/**
 * The new text of a reply: everything before the quoted history (an attribution line, an
 * Outlook "Original Message" block or header block with the rule above it, or a trailing run of
 * `>` lines) and before a signature. When nothing would be left, the whole text is kept.
 */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length && cut === lines.length; i++) {
    const here = (lines[i] ?? '').trim();
    const next = (lines[i + 1] ?? '').trim();
    if (isAttribution(here)) cut = i;
    // Gmail wraps a long attribution over two lines; a line that is one alone is cut there instead.
    else if (next && !isAttribution(next) && isAttribution(`${here} ${next}`)) cut = i;
    else if (SEPARATOR.test(here)) cut = i;
    else if (FROM_LABEL.test(here) && lines.slice(i + 1, i + 4).some((l) => NEXT_LABEL.test(l.trim()))) {
      // The rule Outlook draws above the header block belongs to the quote too.
      let top = i;
      while (top > 0 && ((lines[top - 1] ?? '').trim() === '' || RULE.test((lines[top - 1] ?? '').trim())))
        top--;
      cut = top;
    } else if (
      here.startsWith('>') &&
      lines.slice(i).every((l) => l.trim() === '' || l.trim().startsWith('>'))
    ) {
      cut = i;
    }
  }
  let kept = lines.slice(0, cut);
  const sig = kept.findIndex((l, i) => i > 0 && SIGNATURE.some((re) => re.test(l.trim())));
  if (sig > 0) kept = kept.slice(0, sig);
  const out = kept.join('\n').trim();
  return out || text.trim();
}
