// @ts-check

/**
 * For a view that asks the API again whenever something changes (a live event, the member's own
 * action, new filters): the answers come back in any order, and only the latest question's may
 * land, or an older answer puts back what a newer one replaced. `take()` starts a question and
 * returns a check of whether it is still the latest; `peek()` returns the same check for the
 * question in progress, for work that belongs to it (a "load more" of the list it asked for).
 * Keep one per view: `const [turns] = useState(createTurns)`.
 */
export function createTurns() {
  let asked = 0;
  const check = (/** @type {number} */ turn) => () => turn === asked;
  return {
    take: () => check(++asked),
    peek: () => check(asked),
  };
}
