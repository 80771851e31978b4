// Partners: the list, and one partner's agreement and purpose, logins, keys,
// destinations, views, feeds and consent summary. Each section appears only
// for roles the API lets read it.

import { h, clear, formatTime, formatNumber } from '../dom.js';
import { gql } from '../api.js';

export const title = 'Partners';
export const help = [
  'A partner is an organisation that receives data for one purpose of use (treatment, payment, operations, research or public health). Its views live in its own schema, partner_<slug>.',
  'The agreement section lists the data use agreements on record; a view of the partner needs one in force.',
  'Logins are the partner\'s direct read-only database logins; keys are the OpenPGP keys its files are encrypted to; destinations are where its files go.',
  'The consent summary counts consents without naming any member. Administrators change partners with axtract partner and the SQL functions in docs/sql.md.',
];

const AGREEMENT_ROLES = ['admin', 'analyst', 'privacy_officer'];
const LOGIN_ROLES = ['admin', 'operator'];
const KEY_ROLES = ['admin', 'operator', 'privacy_officer'];
const DEST_ROLES = ['admin', 'analyst', 'operator'];
const FEED_ROLES = ['admin', 'analyst', 'operator'];

// The detail query spreads one fragment per section. detailQuery drops the
// spreads and fragments of sections the role may not read, because the API
// returns an error for a forbidden field.
const Q_DETAIL = `query PartnerDetail($slug: String!) {
  partner(slug: $slug) { ...PartnerBase ...PartnerAgreement ...PartnerLogins ...PartnerKeys ...PartnerDestinations ...PartnerFeeds }
}`;

const FRAGMENTS = {
  PartnerBase: { roles: null, text: `fragment PartnerBase on Partner {
    id slug name purposeOfUse createdAt contactEmail consentDefault zip3Version dateShiftMaxDays
    views { name dataset version updatedAt }
  }` },
  PartnerFeeds: { roles: FEED_ROLES, text: `fragment PartnerFeeds on Partner {
    feeds(first: 50) { edges { node { name format compression schedule timeZone paused lastRun { status slot } } } }
  }` },
  PartnerAgreement: { roles: AGREEMENT_ROLES, text: `fragment PartnerAgreement on Partner {
    dataUseAgreementInForce
    dataUseAgreements { reference signedOn effectiveFrom effectiveTo inForce }
    consentSummary { grantsInForce denialsInForce purposeDecisionsInForce scheduled inactive }
    columnExceptions { dataset column reason expiresAt inForce }
  }` },
  PartnerLogins: { roles: LOGIN_ROLES, text: `fragment PartnerLogins on Partner {
    logins { login connectionLimit validUntil createdAt revokedAt }
  }` },
  PartnerKeys: { roles: KEY_ROLES, text: `fragment PartnerKeys on Partner { keys { fingerprint createdAt } }` },
  PartnerDestinations: { roles: DEST_ROLES, text: `fragment PartnerDestinations on Partner { destinations { name kind createdAt } }` },
};

function detailQuery(role) {
  const allowed = Object.keys(FRAGMENTS).filter((name) => !FRAGMENTS[name].roles || FRAGMENTS[name].roles.includes(role));
  const query = Q_DETAIL.replace(/\.\.\.(\w+)/g, (spread, name) => (allowed.includes(name) ? spread : ''));
  return [query, ...allowed.map((name) => FRAGMENTS[name].text)].join('\n');
}

function table(caption, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

function section(id, heading, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, heading), body);
}

async function renderList(main) {
  const d = await gql('query Partners { partners(first: 100) { edges { node { slug name purposeOfUse createdAt } } } }');
  const list = d.partners.edges.map((e) => e.node);
  main.append(table('Partners by slug', ['Partner', 'Purpose of use', 'Since'], list.map((p) => [
    h('a', { href: `/partners/${p.slug}`, 'data-link': '' }, `${p.name} (${p.slug})`),
    p.purposeOfUse.toLowerCase().replace('_', ' '),
    formatTime(p.createdAt),
  ]), 'No partner yet.'));
}

export async function render(main, params, ctx) {
  const slug = params[0];
  if (!slug) {
    await renderList(main);
    return null;
  }

  const role = ctx.session.role;
  const d = await gql(detailQuery(role), { slug });
  const p = d.partner;
  if (!p) {
    main.append(h('p', { class: 'error' }, `No partner with slug "${slug}".`), h('a', { href: '/partners', 'data-link': '' }, 'All partners'));
    return null;
  }

  clear(main);
  main.append(
    h('p', {}, h('a', { href: '/partners', 'data-link': '' }, '← All partners')),
    section('p-about', `${p.name} (${p.slug})`, h('dl', { class: 'facts' },
      h('dt', {}, 'Purpose of use'), h('dd', {}, p.purposeOfUse.toLowerCase().replace('_', ' ')),
      h('dt', {}, 'Contact'), h('dd', {}, p.contactEmail || '–'),
      h('dt', {}, 'Consent default'), h('dd', {}, p.consentDefault.toLowerCase().replace('_', '-')),
      h('dt', {}, 'ZIP list version'), h('dd', {}, p.zip3Version),
      h('dt', {}, 'Date shift'), h('dd', {}, p.dateShiftMaxDays === null ? 'not allowed' : `up to ${p.dateShiftMaxDays} days`),
      h('dt', {}, 'Partner since'), h('dd', {}, formatTime(p.createdAt)))));

  if (p.dataUseAgreements) {
    main.append(section('p-dua', 'Agreement',
      h('p', { class: p.dataUseAgreementInForce ? 'ok' : 'warn' }, p.dataUseAgreementInForce ? 'A data use agreement is in force.' : 'No data use agreement is in force.'),
      table('Data use agreements, newest first', ['Reference', 'Signed', 'From', 'To', 'In force'], p.dataUseAgreements.map((a) => [
        a.reference, a.signedOn, a.effectiveFrom, a.effectiveTo || 'open', a.inForce ? 'yes' : 'no']), 'No agreement on record.'),
      h('h3', {}, 'Column exceptions'),
      table('Exceptions to the minimum-necessary rule', ['Column', 'Reason', 'Expires', 'In force'], p.columnExceptions.map((x) => [
        `${x.dataset}.${x.column}`, x.reason, formatTime(x.expiresAt), x.inForce ? 'yes' : 'no']), 'No exception.')));
    const c = p.consentSummary;
    main.append(section('p-consent', 'Consent summary', h('ul', { class: 'stats' },
      h('li', {}, h('span', { class: 'n' }, formatNumber(c.grantsInForce)), 'grants in force'),
      h('li', {}, h('span', { class: 'n' }, formatNumber(c.denialsInForce)), 'denials in force'),
      h('li', {}, h('span', { class: 'n' }, formatNumber(c.purposeDecisionsInForce)), 'purpose-wide decisions'),
      h('li', {}, h('span', { class: 'n' }, formatNumber(c.scheduled)), 'starting later'),
      h('li', {}, h('span', { class: 'n' }, formatNumber(c.inactive)), 'revoked or ended'))));
  }

  if (p.logins) {
    main.append(section('p-logins', 'Logins', table('Direct read-only database logins', ['Login', 'Connections', 'Valid until', 'Created', 'Revoked'],
      p.logins.map((l) => [l.login, String(l.connectionLimit), l.validUntil ? formatTime(l.validUntil) : 'no limit', formatTime(l.createdAt), l.revokedAt ? formatTime(l.revokedAt) : '']), 'No login.')));
  }
  if (p.keys) {
    main.append(section('p-keys', 'Keys', table('OpenPGP keys, newest first', ['Fingerprint', 'Added'],
      p.keys.map((k) => [h('code', {}, k.fingerprint), formatTime(k.createdAt)]), 'No key: files cannot be encrypted to this partner yet.')));
  }
  if (p.destinations) {
    main.append(section('p-dest', 'Destinations', table('Where files go', ['Name', 'Kind', 'Created'],
      p.destinations.map((x) => [x.name, x.kind.toLowerCase(), formatTime(x.createdAt)]), 'No destination.')));
  }

  main.append(section('p-views', 'Views', table(`Views in partner_${p.slug}`, ['View', 'Dataset', 'Version', 'Changed'],
    p.views.map((v) => [v.name, v.dataset, String(v.version), formatTime(v.updatedAt)]), 'No view yet.')));
  if (p.feeds) {
    main.append(section('p-feeds', 'Feeds', table('Feeds by name', ['Feed', 'Format', 'Schedule', 'Last run'],
      p.feeds.edges.map((e) => e.node).map((f) => [f.name, `${f.format}, ${f.compression}`,
        f.paused ? 'paused' : (f.schedule ? `${f.schedule} (${f.timeZone})` : 'on demand'),
        f.lastRun ? `${f.lastRun.status.toLowerCase()}, ${formatTime(f.lastRun.slot)}` : '–']), 'No feed yet.')));
  }
  return null;
}
