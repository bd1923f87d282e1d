// @ts-check
import { useLayoutEffect, useState } from 'preact/hooks';

/** Lists longer than this render only the rows near the viewport. */
export const WINDOW_FROM = 150;
/** Rows rendered above and below the viewport, so a fast scroll or j/k never shows a gap. */
const OVERSCAN = 25;
/** Rows of rendered margin below which the window moves. */
const MARGIN = 5;

/**
 * Which rows of a long list to render: those near the viewport (the page scrolls, not the
 * list), from the row stride measured on screen, recomputed at most once a frame on scroll and
 * resize. Below WINDOW_FROM rows every row is rendered. Rows are kept one line high in this mode
 * (CSS `.ticket-list.windowed`), so one stride fits them all.
 * @param {{ current: HTMLElement | null }} listRef
 * @param {number} count
 * @returns {{ start: number, end: number, stride: number }}
 */
export function useRowWindow(listRef, count) {
  const on = count > WINDOW_FROM;
  const [range, setRange] = useState({ start: 0, end: Math.min(count, WINDOW_FROM), stride: 0 });
  useLayoutEffect(() => {
    if (!on) return;
    let frame = 0;
    let stride = range.stride;
    const measure = () => {
      frame = 0;
      const list = listRef.current;
      if (!list) return;
      const rows = list.querySelectorAll('li[data-index]');
      const a = /** @type {HTMLElement | undefined} */ (rows[0]);
      const b = /** @type {HTMLElement | undefined} */ (rows[1]);
      if (a && b && b.offsetTop > a.offsetTop) stride = b.offsetTop - a.offsetTop;
      if (!stride) stride = 64;
      const top = list.getBoundingClientRect().top + scrollY;
      const first = Math.floor((scrollY - top) / stride);
      const shown = Math.ceil(innerHeight / stride);
      const start = Math.max(0, Math.min(count, first - OVERSCAN));
      const end = Math.max(start, Math.min(count, first + shown + OVERSCAN));
      // Keep the rendered rows while they still cover the viewport with a margin: a scroll then
      // re-renders the list once per ~20 rows passed rather than on every frame.
      const covered = (/** @type {{ start: number, end: number }} */ r) =>
        r.start <= Math.max(0, first - MARGIN) && r.end >= Math.min(count, first + shown + MARGIN);
      setRange((r) => (r.stride === stride && covered(r) ? r : { start, end, stride }));
    };
    const soon = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    addEventListener('scroll', soon, { passive: true });
    addEventListener('resize', soon);
    return () => {
      removeEventListener('scroll', soon);
      removeEventListener('resize', soon);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [on, count]);
  return on ? range : { start: 0, end: count, stride: 0 };
}
