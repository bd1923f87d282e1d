import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';

export interface LintReport {
  errors: NormalizedProblem[];
  warnings: NormalizedProblem[];
}

/**
 * Lints an OpenAPI document with Redocly's `recommended` ruleset, the engine behind
 * `redocly lint`, so CI and `npm run openapi:lint` judge the document the way studios' tools will.
 */
export async function lintOpenApi(document: unknown): Promise<LintReport> {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({
    source: JSON.stringify(document),
    absoluteRef: 'openapi.json',
    config,
  });
  return {
    errors: problems.filter((p) => p.severity === 'error'),
    warnings: problems.filter((p) => p.severity === 'warn'),
  };
}

/** One line per problem: rule, where, what. */
export function describeProblem(p: NormalizedProblem): string {
  const where = p.location[0]?.pointer ?? '';
  return `${p.severity} ${p.ruleId} ${where}: ${p.message}`;
}
