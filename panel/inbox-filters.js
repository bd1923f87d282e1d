// @ts-check
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { DEFAULT_STATUS } from './inbox-query.js';
import { label, PRIORITIES, SOURCES, STATUSES } from './labels.js';

/**
 * The inbox's filter bar: the search box and one select per filter. A list the member may not
 * read (teams, games) comes empty and its filter is left out.
 * @param {{ f: Record<string, string>, setFilters: (change: Record<string, string>) => void,
 *   searchRef: import('preact').RefObject<HTMLInputElement>, categories: { id: string, name: string }[],
 *   teams: { id: string, name: string }[], games: { id: string, name: string }[], tags: string[] }} props
 */
export function InboxFilters({ f, setFilters, searchRef, categories, teams, games, tags }) {
  const [q, setQ] = useState(f.q);

  const select = (
    /** @type {string} */ name,
    /** @type {string} */ text,
    /** @type {[string, string][]} */ options,
  ) =>
    html`<label class="filter"
      >${text}
      <select id=${`filter-${name}`} value=${f[name]} onChange=${(/** @type {any} */ e) => setFilters({ [name]: e.currentTarget.value })}>
        ${options.map(([v, t]) => html`<option value=${v}>${t}</option>`)}
      </select></label
    >`;

  return html`<form
    class="filters"
    role="search"
    onSubmit=${(/** @type {Event} */ e) => {
      e.preventDefault();
      setFilters({ q: q.trim() });
    }}
  >
    <label class="filter search"
      >Search
      <input
        ref=${searchRef}
        id="inbox-search"
        type="search"
        placeholder="Subject or message text  ( / )"
        value=${q}
        onInput=${(/** @type {any} */ e) => setQ(e.currentTarget.value)}
    /></label>
    ${select('status', 'Status', [
      [DEFAULT_STATUS, 'Unsolved'],
      ['all', 'Any status'],
      ...STATUSES.map((s) => /** @type {[string, string]} */ ([s, label(s)])),
    ])}
    ${select('assignee', 'Assignee', [
      ['', 'Anyone'],
      ['me', 'Me'],
      ['none', 'Unassigned'],
    ])}
    ${select('priority', 'Priority', [['', 'Any'], ...PRIORITIES.map((p) => /** @type {[string, string]} */ ([p, label(p)]))])}
    ${select('category', 'Category', [['', 'Any'], ...categories.map((c) => /** @type {[string, string]} */ ([c.id, c.name]))])}
    ${teams.length ? select('team', 'Team', [['', 'Any'], ...teams.map((t) => /** @type {[string, string]} */ ([t.id, t.name]))]) : null}
    ${games.length ? select('game', 'Game', [['', 'Any'], ...games.map((g) => /** @type {[string, string]} */ ([g.id, g.name]))]) : null}
    ${select('tag', 'Tag', [['', 'Any'], ...[...new Set([...tags, ...(f.tag ? [f.tag] : [])])].map((t) => /** @type {[string, string]} */ ([t, t]))])}
    ${select('source', 'Source', [['', 'Any'], ...SOURCES.map((s) => /** @type {[string, string]} */ ([s, label(s)]))])}
    ${select('sla', 'SLA', [
      ['', 'Any'],
      ['breached', 'Breached'],
      ['due_soon', 'Due within 1 h'],
      ['on_track', 'On track'],
      ['none', 'No SLA'],
    ])}
    ${select('sort', 'Sort', [
      ['', 'Last updated'],
      ['created', 'Newest'],
      ['priority', 'Priority'],
      ['number', 'Number'],
    ])}
    <button type="submit" class="visually-hidden">Search</button>
  </form>`;
}
