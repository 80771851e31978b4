// Approvals: a privacy officer reviews submitted requests against the
// partner's purpose of use and agreement. The page shows exactly which columns
// and transforms a view would disclose, and approves or rejects with a comment.

import { h, stack, clear, field, formatTime, announce } from '../dom.js';
import { gql } from '../api.js';

export const title = 'Approvals';
export const help = [
  'Each card is a request an analyst submitted: a partner view, and for a feed request the feed that delivers it.',
  'The column table lists every column the partner would receive, its classification before and after the transform, and whether the partner\'s purpose of use allows it. Disclose the minimum necessary.',
  'The check line repeats the server\'s minimum-necessary check at this moment; an agreement or exception may have lapsed since the analyst submitted.',
  'Approve defines the view (and feed) exactly as requested, in the same transaction as the decision. You cannot approve your own request. Reject needs a comment that tells the analyst what to change.',
  'Decisions are recorded with your login and the time, and appear in the audit log.',
];

const Q = `query Approvals {
  pending: requests(status: [SUBMITTED], first: 50) { edges { node { ...ReviewRequest } } }
  decided: requests(status: [APPROVED, REJECTED], first: 10) { edges { node { ...ReviewRequest } } }
}`;

const F_REQUEST = `fragment ReviewRequest on Request {
  id kind status viewName version spec feed template
  createdBy createdAt submittedBy submittedAt reviewedBy reviewedAt reviewComment viewVersion
  partner { slug name purposeOfUse dataUseAgreementInForce }
  review
  validation { code message hint path }
}`;

const M_APPROVE = 'mutation Approve($id: ID!, $comment: String) { approveRequest(id: $id, comment: $comment) { id status } }';
const M_REJECT = 'mutation Reject($id: ID!, $comment: String!) { rejectRequest(id: $id, comment: $comment) { id status } }';

const words = (s) => String(s || '').toLowerCase().replace(/_/g, ' ');

function paramOf(spec, column) {
  const item = (spec.columns || []).find((c) => typeof c === 'object' && c.column === column);
  if (!item) return '';
  const v = item.keep ?? item.length ?? item.width;
  return v === undefined ? '' : ` (${v})`;
}

function allowedText(c) {
  if (!c.allowed) return c.problem || 'no';
  return c.exception ? 'by exception' : 'yes';
}

function columnsTable(req) {
  const cols = (req.review && req.review.columns) || [];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'disclosure' },
    h('caption', { class: 'muted' }, `Dataset ${req.spec.dataset}, profile ${req.spec.profile || 'none'}`),
    h('thead', {}, h('tr', {}, ['Column', 'Partner sees', 'Transform', 'Class', 'After transform', 'Allowed'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, cols.map((c) => h('tr', {},
      h('th', { scope: 'row' }, c.column, c.description ? h('span', { class: 'hint' }, h('br'), c.description) : null),
      h('td', {}, c.as || c.column),
      h('td', {}, `${c.transform || 'none'}${paramOf(req.spec, c.column)}`),
      h('td', {}, words(c.classification)),
      h('td', {}, words(c.classification_after)),
      h('td', { class: c.allowed ? 'ok' : 'error' }, allowedText(c)))))));
}

function filterList(req) {
  const filters = (req.review && req.review.filters) || req.spec.filters || [];
  if (!filters.length) return h('p', { class: 'muted' }, 'No row filter: every consented row of the dataset.');
  return h('ul', {}, filters.map((f) => h('li', {},
    h('code', {}, `${f.column} ${f.op}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`}`),
    f.allowed === false ? h('span', { class: 'error' }, ' filters on a column the purpose does not allow') : null)));
}

function feedFacts(feed) {
  if (!feed) return null;
  const o = feed.options || {};
  return [h('h4', {}, `Feed ${feed.name || ''}`), h('dl', { class: 'facts' },
    h('dt', {}, 'Destination'), h('dd', {}, feed.destination || '–'),
    h('dt', {}, 'Format'), h('dd', {}, `${o.format || 'csv'}, ${o.compression || 'zstd'}, ${o.encrypt === false ? 'not encrypted' : 'encrypted'}`),
    h('dt', {}, 'Schedule'), h('dd', {}, o.schedule ? `${o.schedule} (${o.time_zone || 'UTC'})` : 'on demand or on events'))];
}

function checkLine(req) {
  const mn = (req.review && req.review.minimum_necessary) || {};
  const problems = [...req.validation.map((v) => `${v.message}${v.hint ? ` ${v.hint}` : ''}`)];
  if (mn.ok === false && mn.message) problems.push(`${mn.message}${mn.hint ? ` ${mn.hint}` : ''}`);
  const unique = [...new Set(problems)];
  if (!unique.length) return h('div', { class: 'check', dataset: { ok: 'true' } }, h('strong', {}, 'Checks now: passes'), ' the minimum-necessary and profile rules.');
  return h('div', { class: 'check', dataset: { ok: 'false' } }, h('strong', {}, 'Checks now: fails'), h('ul', {}, unique.map((m) => h('li', {}, m))));
}

export async function render(main, _params, ctx) {
  const pendingBox = h('div', { id: 'pending' });
  const decidedBox = h('div', { id: 'decided', class: 'table-wrap' });
  main.append(h('h2', {}, 'Waiting for review'), pendingBox, h('h2', {}, 'Recently decided'), decidedBox);

  async function load() {
    const d = await gql(`${Q}\n${F_REQUEST}`);
    const pending = d.pending.edges.map((e) => e.node);
    clear(pendingBox);
    if (!pending.length) pendingBox.append(h('p', { class: 'muted' }, 'No request is waiting for review.'));
    for (const req of pending) pendingBox.append(card(req));

    const decided = d.decided.edges.map((e) => e.node);
    clear(decidedBox).append(decided.length ? h('table', { id: 'decided-table' },
      h('thead', {}, h('tr', {}, ['Request', 'State', 'By', 'When', 'Comment'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, decided.map((r) => h('tr', { dataset: { request: r.id } },
        h('td', {}, `${r.id}: ${r.partner.slug}.${r.viewName} v${r.version}`),
        h('td', {}, h('span', { class: 'badge', dataset: { state: r.status.toLowerCase() } }, r.status.toLowerCase())),
        h('td', {}, r.reviewedBy || ''),
        h('td', {}, formatTime(r.reviewedAt)),
        h('td', {}, r.reviewComment || '')))))
      : h('p', { class: 'muted' }, 'Nothing decided yet.'));
    if (decided.length) stack(decidedBox.querySelector('table'));
  }

  function card(req) {
    const comment = h('textarea', { name: `comment-${req.id}`, rows: 2 });
    const msg = h('p', { role: 'alert' });
    const approve = h('button', { type: 'button', class: 'approve' }, 'Approve');
    const reject = h('button', { type: 'button', class: 'danger reject' }, 'Reject');
    const own = req.createdBy === ctx.session.login;
    if (own) approve.disabled = true;
    const p = req.partner;
    const live = req.review && req.review.live;

    async function decide(mutation, vars, verb) {
      approve.disabled = true;
      reject.disabled = true;
      try {
        await gql(mutation, vars);
        announce(`Request ${req.id} ${verb}.`);
        await load();
      } catch (err) {
        msg.className = 'error';
        msg.textContent = err.message;
        approve.disabled = own;
        reject.disabled = false;
      }
    }
    approve.addEventListener('click', () => decide(M_APPROVE, { id: req.id, comment: comment.value.trim() || null }, 'approved'));
    reject.addEventListener('click', () => {
      if (!comment.value.trim()) {
        msg.className = 'error';
        msg.textContent = 'A rejection needs a comment that tells the analyst what to change.';
        comment.focus();
        return;
      }
      decide(M_REJECT, { id: req.id, comment: comment.value.trim() }, 'rejected');
    });

    const headingId = `req-${req.id}`;
    return h('article', { class: 'card request', dataset: { request: req.id }, 'aria-labelledby': headingId },
      h('h3', { id: headingId }, `${req.kind === 'FEED' ? 'View and feed' : 'View'} ${p.slug}.${req.viewName}, version ${req.version}`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Partner'), h('dd', {}, `${p.name} (${p.slug})`),
        h('dt', {}, 'Purpose of use'), h('dd', {}, words(p.purposeOfUse)),
        h('dt', {}, 'Agreement'), h('dd', { class: p.dataUseAgreementInForce ? 'ok' : 'warn' }, p.dataUseAgreementInForce ? 'in force' : 'none in force'),
        h('dt', {}, 'Requested by'), h('dd', {}, `${req.submittedBy || req.createdBy}, ${formatTime(req.submittedAt || req.createdAt)}`),
        req.template ? [h('dt', {}, 'Template'), h('dd', {}, req.template)] : null,
        h('dt', {}, 'Live view'), h('dd', {}, live ? `version ${live.version}${live.same_spec ? ', same spec' : ', this request changes it'}` : 'none: a new view')),
      h('h4', {}, 'What it discloses'), columnsTable(req),
      h('h4', {}, 'Rows'), filterList(req),
      feedFacts(req.feed),
      checkLine(req),
      req.review && req.review.compiled_sql ? h('details', {}, h('summary', {}, 'SQL the view compiles to'), h('pre', {}, h('code', {}, req.review.compiled_sql))) : null,
      field('Comment', comment, own ? 'You wrote this request, so someone else must approve it.' : 'Required to reject; kept with the decision.'),
      h('div', { class: 'actions' }, approve, reject), msg);
  }

  await load();
  return null;
}
