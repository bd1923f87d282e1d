import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validationText } from '../../bot/validation-text.js';

/** zod's own English, read back into the asker's language (zod v4 wording, from real schemas). */
const issue = (schema: z.ZodType, input: unknown) => schema.safeParse(input).error?.issues[0]?.message ?? '';

describe('validation details in the asker’s language', () => {
  it('reads zod’s sizes, ranges, choices and missing values', () => {
    expect(validationText(issue(z.string().max(100), 'x'.repeat(101)), 'de')).toBe('höchstens 100 Zeichen');
    expect(validationText(issue(z.string().min(3), 'x'), 'fr')).toBe('3 caractères au minimum');
    expect(validationText(issue(z.string().min(1), ''), 'es-ES')).toBe('no puede estar vacío');
    expect(validationText(issue(z.array(z.string()).max(5), Array(6).fill('a')), 'pt-BR')).toBe(
      'no máximo 5 itens',
    );
    expect(validationText(issue(z.number().int().min(1).max(50), 0), 'de')).toBe('mindestens 1');
    expect(validationText(issue(z.number().max(50), 51), 'en-US')).toBe('at most 50');
    expect(validationText(issue(z.number().lt(10), 10), 'fr')).toBe('moins de 10');
    expect(validationText(issue(z.enum(['low', 'high']), 'mid'), 'de')).toBe('einer von low, high');
    expect(validationText(issue(z.object({ a: z.string() }), {}), 'pt-BR')).toBe('falta um valor');
  });

  it('reads db/’s words for key-like fields', () => {
    const tag = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'letters, digits, - and _, at most 40');
    expect(validationText(issue(tag, 'bad tag!'), 'es-ES')).toBe('letras, dígitos, - y _, como máximo 40');
  });

  it('says "not in the expected form" for anything else, and English keeps the original', () => {
    const named = z.string().refine(() => false, 'a range ends after it starts');
    expect(validationText(issue(named, 'x'), 'de')).toBe('ein Wert hat nicht die erwartete Form');
    expect(validationText(issue(named, 'x'), 'en-US')).toBe('a range ends after it starts');
    expect(validationText(issue(z.email(), 'nope'), 'fr')).toBe('une valeur n’a pas la forme attendue');
  });
});
