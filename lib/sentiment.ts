import Sentiment from 'sentiment';

/**
 * A player message's sentiment from a local lexicon (AFINN-165 through the `sentiment` package:
 * no network, no model to download), with a few words of game support that AFINN scores as
 * neutral or not at all. The lexicon is English: `language` says which lexicon the score comes
 * from; other languages mostly score neutral and are sometimes misread (German "die" is English
 * "die"), so a message in another language should not be trusted to this score.
 */

export type SentimentLabel = 'positive' | 'neutral' | 'negative';

export interface SentimentScore {
  /** Sum of the word scores (AFINN: -5 to 5 per word). */
  score: number;
  /** The score per word of the message, so long and short messages compare. */
  comparative: number;
  label: SentimentLabel;
  language: 'en';
}

/** Game support words, scored like AFINN's own (a crash or a scam is bad news, a fix good). */
const EXTRAS: Record<string, number> = {
  crash: -2,
  crashes: -2,
  crashing: -2,
  crashed: -2,
  bug: -2,
  bugged: -2,
  buggy: -2,
  broken: -2,
  stuck: -2,
  lag: -2,
  laggy: -2,
  unplayable: -4,
  scam: -3,
  scammed: -3,
  cheater: -2,
  cheaters: -2,
  hacker: -2,
  hackers: -2,
  refund: -1,
  lost: -2,
  missing: -1,
  wiped: -2,
  disconnected: -1,
  kicked: -1,
  unfair: -2,
  ridiculous: -3,
  worst: -3,
  garbage: -3,
  trash: -3,
  fixed: 2,
  works: 2,
  working: 1,
  solved: 2,
  thx: 2,
  ty: 2,
  legend: 3,
  goat: 3,
  gg: 2,
  quick: 1,
  fast: 1,
  helpful: 2,
};

const analyzer = new Sentiment();

/** Above this many points per word a message reads as positive; below minus it, as negative. */
const THRESHOLD = 0.1;

export function scoreSentiment(text: string): SentimentScore {
  const r = analyzer.analyze(text, { extras: EXTRAS });
  const comparative = Number.isFinite(r.comparative) ? r.comparative : 0;
  const label: SentimentLabel =
    comparative > THRESHOLD ? 'positive' : comparative < -THRESHOLD ? 'negative' : 'neutral';
  return { score: r.score, comparative: Math.round(comparative * 1000) / 1000, label, language: 'en' };
}
