import { describe, expect, it } from 'vitest';
import { REPORT_REASONS } from '../../db/player-reports.js';
import { reportReasonLabel, reportSubject, ticketForSubject } from '../../lib/i18n/subjects.js';

/** Subjects GameMod stores: a game report's keeps its English form, and reads well in the others. */
describe('stored subjects', () => {
  it("a game report's in en-US is what it always was, for every reason", () => {
    for (const reason of REPORT_REASONS)
      expect(reportSubject('en-US', 'Griefer42', reportReasonLabel('en-US', reason))).toBe(
        `Report: Griefer42 (${reason.replaceAll('_', ' ')})`,
      );
  });

  it('names each reason in the other languages, and an unknown one as it is', () => {
    expect(reportSubject('de', 'Griefer42', reportReasonLabel('de', 'hate_speech'))).toBe(
      'Meldung: Griefer42 (Hassrede)',
    );
    expect(reportSubject('fr', 'X', reportReasonLabel('fr', 'real_money_trading'))).toBe(
      'Signalement : X (commerce en argent réel)',
    );
    expect(reportReasonLabel('es-ES', 'new_reason')).toBe('new reason');
  });

  it('keeps a name as given (no placeholder in it is filled) and cuts at 200 characters', () => {
    expect(ticketForSubject('pt-BR', '{name}')).toBe('Ticket para {name}');
    expect(ticketForSubject('de', 'x'.repeat(300))).toHaveLength(200);
  });
});
