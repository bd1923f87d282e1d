// @ts-check
import { html } from './html.js';

/**
 * @typedef {{ label: 'positive' | 'neutral' | 'negative', score: number, comparative?: number, language?: string }} Sentiment
 */

const WORDS = { positive: 'Positive', neutral: 'Neutral', negative: 'Negative' };

/**
 * A player's sentiment as a small badge: the word carries it, the colour repeats it, and the
 * title says where it comes from, so nobody reads a lexicon's guess as the player's own words.
 * @param {{ sentiment: Sentiment | null | undefined, what?: string, named?: boolean }} props `named`: the
 *   text next to it already says what it is, so a screen reader is not told twice
 */
export function SentimentBadge({ sentiment, what = 'Message sentiment', named = false }) {
  if (!sentiment) return null;
  const word = WORDS[sentiment.label] ?? sentiment.label;
  const score = sentiment.score > 0 ? `+${sentiment.score}` : String(sentiment.score);
  const lang = sentiment.language ? `, ${sentiment.language.toUpperCase()} lexicon` : '';
  return html`<span
    class=${`badge mood mood-${sentiment.label}`}
    title=${`${what}: ${word.toLowerCase()}, score ${score}${lang} (a word list's estimate)`}
    >${named ? null : html`<span class="visually-hidden">${what}: </span>`}${word} ${score}</span
  >`;
}
