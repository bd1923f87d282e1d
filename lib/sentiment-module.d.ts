// The `sentiment` package ships no types; this is the part lib/sentiment.ts uses.
declare module 'sentiment' {
  interface AnalysisResult {
    score: number;
    comparative: number;
    tokens: string[];
    positive: string[];
    negative: string[];
  }
  export default class Sentiment {
    analyze(text: string, options?: { extras?: Record<string, number>; language?: string }): AnalysisResult;
  }
}
