// @ts-check
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

const KEYS = [
  ['j / k', 'Next / previous ticket'],
  ['Enter', 'Open the selected ticket'],
  ['x', 'Select the ticket for a bulk action (in the inbox)'],
  ['/', 'Search'],
  ['r', 'Reply (in a ticket)'],
  ['n', 'Internal note (in a ticket)'],
  ['a', 'Assign: go to the assignee control (in a ticket)'],
  ['e', 'Close the ticket (in a ticket)'],
  ['Esc', 'Back to the inbox (in a ticket), or close this list'],
  ['?', 'This list'],
];

/** The keyboard shortcuts, in a modal dialog (Esc closes it, focus returns where it was). */
export function KeyHelp({ onClose = () => {} }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return html`<dialog ref=${ref} class="card keys" aria-labelledby="keys-title" onClose=${onClose}>
    <h2 id="keys-title">Keyboard shortcuts</h2>
    <dl>${KEYS.map(([k, what]) => html`<div><dt><kbd>${k}</kbd></dt><dd>${what}</dd></div>`)}</dl>
    <form method="dialog"><button class="primary">Close</button></form>
  </dialog>`;
}
