// The dashboard's quality sections (docs/quality.md): runs that quality
// checks hold, with what they measured and the operator's Release and
// Discard buttons, and the quality rules of a feed for analysts. This is
// not a page of its own: dashboard.js places both sections.

import { h, add, clear, field, select, formatNumber, formatTime, announce, stack } from '../dom.js';
import { gql } from '../api.js';

export const Q_HELD = `query HeldRuns {
  runs(status: [HELD], first: 50) {
    edges { node {
      id slot finishedAt error
      feed { name partner { slug } }
      quality { outcome rows previousRows rowChangePct checkedAt violations { check column message } }
    } }
  }
}`;

const M_RELEASE = 'mutation ReleaseRun($id: ID!) { releaseRun(id: $id) { id status } }';
const M_DISCARD = 'mutation DiscardRun($id: ID!, $reason: String) { discardRun(id: $id, reason: $reason) { id status } }';
const Q_RULES = 'query FeedQualityRules($name: String!) { feed(name: $name) { name qualityRules } }';
const M_SET_RULES = 'mutation SetFeedQuality($feed: String!, $rules: JSON) { setFeedQuality(feed: $feed, rules: $rules) { name qualityRules } }';

// The rules the panel edits. A save keeps every other rule of the feed.
const EDITED = ['min_rows', 'max_row_change_pct', 'required_columns', 'on_fail'];
// Rules that check something, unlike on_fail, which only says what a broken
// rule does.
const CHECKS = ['min_rows', 'max_rows', 'max_row_change_pct', 'max_null_pct', 'required_columns', 'unique_columns'];

function rowsText(q) {
  if (!q) return '–';
  let text = `${formatNumber(q.rows)} rows`;
  if (q.previousRows !== null) text += `, previous run ${formatNumber(q.previousRows)}`;
  if (q.rowChangePct !== null) text += ` (${q.rowChangePct > 0 ? '+' : ''}${q.rowChangePct}%)`;
  return text;
}

function violationList(run) {
  const q = run.quality;
  if (!q || !q.violations.length) return run.error || '';
  return h('ul', { class: 'violations' }, q.violations.map((v) => h('li', {}, h('code', {}, v.check), ': ', v.message)));
}

// drawHeld fills box with the held runs. act(mutation, vars, message) runs
// a mutation and refreshes the dashboard, and canOperate shows the buttons.
export function drawHeld(box, runs, canOperate, act) {
  clear(box);
  if (!runs.length) {
    box.append(h('p', { class: 'ok' }, 'No run is held by quality checks.'));
    return;
  }
  box.append(h('table', { id: 'held-table' },
    h('thead', {}, h('tr', {}, ['Run', 'Feed', 'Slot', 'Rows', 'Broken rules', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, runs.map((r) => h('tr', { dataset: { run: r.id } },
      h('td', {}, r.id),
      h('th', { scope: 'row' }, r.feed.name, h('br'), h('span', { class: 'muted' }, r.feed.partner.slug)),
      h('td', {}, formatTime(r.slot)),
      h('td', {}, rowsText(r.quality)),
      h('td', {}, violationList(r)),
      h('td', {}, canOperate ? heldButtons(r, act) : null))))));
  stack(box.querySelector('table'));
}

function heldButtons(run, act) {
  const reason = h('input', { type: 'text', class: 'discard-reason', maxlength: '500', placeholder: 'Reason to discard',
    'aria-label': `Reason to discard run ${run.id}` });
  const release = () => act(M_RELEASE, { id: run.id },
    `Run ${run.id} of ${run.feed.name} released: it is queued and delivers even if the rules break again.`);
  const discard = () => {
    const text = reason.value.trim();
    if (!text) {
      announce(`Give a reason to discard run ${run.id}; it is kept in the audit log.`, 'error');
      reason.focus();
      return;
    }
    act(M_DISCARD, { id: run.id, reason: text }, `Run ${run.id} of ${run.feed.name} discarded.`);
  };
  return h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'secondary release', 'aria-label': `Release run ${run.id} of ${run.feed.name}`, onclick: release }, 'Release'),
    reason,
    h('button', { type: 'button', class: 'secondary discard', 'aria-label': `Discard run ${run.id} of ${run.feed.name}`, onclick: discard }, 'Discard'));
}

// rulesPanel returns the form that sets a feed's minimum rows, largest row
// change, required columns and what a broken rule does.
export function rulesPanel(feedNames) {
  const box = h('div', { id: 'quality-rules' });
  if (!feedNames.length) {
    box.append(h('p', { class: 'muted' }, 'No feed yet.'));
    return box;
  }
  const feedSel = select(feedNames, feedNames[0], { name: 'quality-feed' });
  const minRows = h('input', { type: 'number', name: 'min-rows', min: '0', step: '1', inputmode: 'numeric' });
  const maxChange = h('input', { type: 'number', name: 'max-row-change-pct', min: '0', step: 'any' });
  const required = h('input', { type: 'text', name: 'required-columns', placeholder: 'member_id, birth_date' });
  const onFail = select([{ value: 'fail', label: 'Fail the run' }, { value: 'hold', label: 'Hold the run for an operator' }], 'fail', { name: 'on-fail' });
  const others = h('p', { class: 'hint', id: 'quality-other-rules' });
  const stored = h('pre', { class: 'muted', id: 'quality-stored' });
  const saveBtn = h('button', { type: 'submit', class: 'save-quality' }, 'Save rules');
  let current = {};

  function fill(rules) {
    current = rules || {};
    minRows.value = current.min_rows ?? '';
    maxChange.value = current.max_row_change_pct ?? '';
    required.value = (current.required_columns || []).join(', ');
    onFail.value = current.on_fail || 'fail';
    const otherKeys = Object.keys(current).filter((k) => !EDITED.includes(k));
    others.textContent = otherKeys.length ? `Also kept as set: ${otherKeys.join(', ')}.` : '';
    stored.textContent = rules ? JSON.stringify(rules, null, 2) : 'No rules: runs of this feed are not checked.';
  }

  // load reads the chosen feed's rules. The save button waits for it, so
  // a save cannot send the form of one feed with the rules of another.
  // Loads are numbered, and only the newest fills the form: an older one
  // answering late would overwrite what the user typed since.
  let loads = 0;
  async function load() {
    const name = feedSel.value;
    const n = ++loads;
    saveBtn.disabled = true;
    delete box.dataset.feed;
    try {
      const data = await gql(Q_RULES, { name });
      if (n !== loads || name !== feedSel.value) return;
      fill(data.feed ? data.feed.qualityRules : null);
      box.dataset.feed = name;
      saveBtn.disabled = false;
    } catch (err) {
      announce(err.message, 'error');
    }
  }

  // rulesFromForm returns the rules to store, or null for none; it throws
  // on a number the form cannot send.
  function rulesFromForm() {
    const rules = { ...current };
    for (const k of EDITED) delete rules[k];
    if (minRows.value.trim() !== '') {
      const n = Number(minRows.value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`Minimum rows must be a whole number, 0 or more, not ${minRows.value}.`);
      rules.min_rows = n;
    }
    if (maxChange.value.trim() !== '') {
      const n = Number(maxChange.value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`Largest row change must be a percent, 0 or more, not ${maxChange.value}.`);
      rules.max_row_change_pct = n;
    }
    const cols = required.value.split(',').map((c) => c.trim()).filter(Boolean);
    if (cols.length) rules.required_columns = cols;
    if (!CHECKS.some((k) => k in rules)) return null;
    rules.on_fail = onFail.value;
    return rules;
  }

  async function save(ev) {
    ev.preventDefault();
    let rules;
    try {
      rules = rulesFromForm();
    } catch (err) {
      announce(err.message, 'error');
      return;
    }
    try {
      const data = await gql(M_SET_RULES, { feed: feedSel.value, rules });
      const saved = data.setFeedQuality.qualityRules;
      fill(saved);
      announce(saved ? `Quality rules of ${feedSel.value} saved.` : `Quality rules of ${feedSel.value} removed.`);
    } catch (err) {
      announce(err.message, 'error');
    }
  }

  feedSel.addEventListener('change', load);
  add(box, h('form', { class: 'grid two', onsubmit: save },
    field('Feed', feedSel),
    field('Minimum rows', minRows, 'A run with fewer rows breaks the rule. Empty for no minimum.'),
    field('Largest row change (%)', maxChange, 'Against the previous delivered run: 20 allows 80 to 120 rows after a run of 100.'),
    field('Required columns', required, 'Comma-separated columns of the view that must have no NULL.'),
    field('When a rule breaks', onFail, 'Either way nothing is delivered. A held run waits for an operator to release or discard it.'),
    h('div', { class: 'actions' }, saveBtn)),
  others, stored);
  load();
  return box;
}
