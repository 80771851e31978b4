// Deliveries: a partner user's runs and their files, with download links
// for files the portal destination keeps.

import { h, stack, formatTime, formatBytes, formatNumber } from '../dom.js';
import { gql } from '../api.js';

export const title = 'Deliveries';
export const help = [
  'Each row is one delivery of a feed to your organisation, newest first, with the files it contained.',
  'Download links are signed and short-lived: the page asks for fresh ones each time it loads, so reload it if a link has expired. Files of feeds that deliver to your SFTP server or another destination have no link here.',
  'Files are usually compressed and encrypted to your OpenPGP key; decrypt them with gpg --decrypt. The sha256 column lets you check that a file arrived intact (sha256sum FILE).',
  'Your systems can fetch the same files without this page through the pull API under /api/v1/.',
];

const Q = `query Deliveries {
  runs(status: [SUCCEEDED], first: 50) {
    edges { node {
      id slot finishedAt rows
      feed { name partner { name } }
      files { id name kind rows bytes sha256 downloadUrl }
    } }
  }
}`;

export async function render(main) {
  const d = await gql(Q);
  const runs = d.runs.edges.map((e) => e.node);
  if (!runs.length) {
    main.append(h('p', { class: 'muted' }, 'No delivery yet.'));
    return null;
  }
  const rows = [];
  for (const r of runs) {
    for (const f of r.files) {
      rows.push(h('tr', { dataset: { run: r.id } },
        h('td', {}, r.feed.name),
        h('td', {}, formatTime(r.slot)),
        h('th', { scope: 'row' }, f.name, ' ', h('span', { class: 'muted' }, f.kind.toLowerCase())),
        h('td', { class: 'num' }, formatNumber(f.rows)),
        h('td', { class: 'num' }, formatBytes(f.bytes)),
        h('td', {}, h('code', { title: f.sha256 }, f.sha256.slice(0, 12), '…')),
        h('td', {}, f.downloadUrl
          ? h('a', { href: f.downloadUrl, download: f.name, class: 'download' }, 'Download', h('span', { class: 'visually-hidden' }, ` ${f.name}`))
          : h('span', { class: 'muted' }, 'sent to your destination'))));
    }
  }
  main.append(h('div', { class: 'table-wrap' }, h('table', { id: 'deliveries-table' },
    h('caption', { class: 'muted' }, 'Delivered files, newest first'),
    h('thead', {}, h('tr', {}, ['Feed', 'Slot', 'File', 'Rows', 'Size', 'sha256', ''].map((t) => h('th', { scope: 'col', class: t === 'Rows' || t === 'Size' ? 'num' : '' }, t)))),
    h('tbody', {}, rows))));
  stack(main.querySelector('#deliveries-table'));
  return null;
}
