// Feed designer: format, packaging, destination and schedule of a feed,
// with a calendar and a preview of the next runs, submitted as a request
// that a privacy officer approves.

import { h, add, clear, field, select } from '../dom.js';
import { gql } from '../api.js';

export const title = 'Design a feed';
export const help = [
  'A feed sends one view of a partner to one of its destinations, on a schedule, on an event, or on demand.',
  'Format and packaging: the file format and its options, the compression, and whether the file is encrypted to the partner\'s OpenPGP keys and signed. Encryption is on unless the agreement says otherwise. A manifest lists the files with their rows and sha256; a trigger file tells the partner\'s jobs that the delivery is complete.',
  'Schedule: a cron expression of five fields (minute hour day-of-month month day-of-week) read in the feed\'s time zone, or a preset such as @daily. Leave it empty for a feed that runs only on demand or on events.',
  'The calendar marks the days of the next runs. The server computes them as it will run the feed, with the business calendar and holiday rule applied.',
  'The deadline is the local time by which a scheduled run must be delivered; later runs count as late on the dashboard.',
];

const FORMATS = ['csv', 'delimited', 'fixed', 'jsonl', 'fhir', 'x12-834', 'parquet'];
const COMPRESSIONS = ['zstd', 'gzip', 'zip', 'none'];
const PRESETS = [
  { value: '', label: 'Custom or on demand' },
  { value: '0 6 * * *', label: 'Every day at 06:00' },
  { value: '0 6 * * 1-5', label: 'Weekdays at 06:00' },
  { value: '0 5 * * 1', label: 'Mondays at 05:00' },
  { value: '0 4 1 * *', label: 'First of the month at 04:00' },
  { value: '0 * * * *', label: 'Every hour' },
];

const Q_START = `query FeedStart {
  partners(first: 100) { edges { node { slug name } } }
  calendars { name description weekend federalHolidays }
}`;

const Q_PARTNER = `query FeedPartner($slug: String!) {
  partner(slug: $slug) { slug views { name dataset version } destinations { name kind } }
}`;

const Q_SCHEDULE = `query SchedulePreview($schedule: String!, $tz: String, $cal: String, $rule: String) {
  schedulePreview(schedule: $schedule, timeZone: $tz, calendar: $cal, holidayRule: $rule, count: 5) { slot localTime }
}`;

const M_CREATE = 'mutation CreateFeedRequest($input: RequestInput!) { createRequest(input: $input) { id } }';
const M_SUBMIT = 'mutation SubmitRequest($id: ID!) { submitRequest(id: $id) { id status viewName } }';

function timeZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
  }
}

function monthGrid(runs, weekend) {
  const first = runs.length ? new Date(`${runs[0].local.slice(0, 7)}-01T00:00:00Z`) : new Date();
  const y = first.getUTCFullYear();
  const m = first.getUTCMonth();
  const days = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const lead = new Date(Date.UTC(y, m, 1)).getUTCDay();
  const runDays = new Set(runs.map((r) => r.local.slice(0, 10)));
  const cells = ['Su', 'Mo', 'Tu', 'We', 'Th', 'Fr', 'Sa'].map((d) => h('div', { class: 'dow', 'aria-hidden': 'true' }, d));
  for (let i = 0; i < lead; i += 1) cells.push(h('div', { class: 'day other', 'aria-hidden': 'true' }));
  for (let d = 1; d <= days; d += 1) {
    const key = `${y}-${String(m + 1).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    const dow = (lead + d - 1) % 7;
    const run = runDays.has(key);
    const off = weekend.includes(dow);
    cells.push(h('div', {
      class: `day${run ? ' run' : ''}${off ? ' other' : ''}`,
      role: 'gridcell',
      'aria-label': `${key}${run ? ', run' : ''}${off ? ', weekend' : ''}`,
    }, String(d)));
  }
  const monthName = new Date(Date.UTC(y, m, 1)).toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return h('div', {}, h('h3', { id: 'cal-h' }, monthName),
    h('div', { class: 'calendar', role: 'grid', 'aria-labelledby': 'cal-h' }, cells));
}

export async function render(main) {
  const start = await gql(Q_START);
  const partners = start.partners.edges.map((e) => e.node);
  if (!partners.length) {
    main.append(h('p', {}, 'No partner exists yet.'));
    return null;
  }
  const partnerSel = select(partners.map((p) => ({ value: p.slug, label: `${p.name} (${p.slug})` })), partners[0].slug, { name: 'partner' });
  const viewSel = h('select', { name: 'view' });
  const destSel = h('select', { name: 'destination' });
  const nameInput = h('input', { name: 'feed-name', pattern: '[a-z][a-z0-9_-]{0,62}', autocomplete: 'off' });
  const formatSel = select(FORMATS, 'csv', { name: 'format' });
  const compSel = select(COMPRESSIONS, 'zstd', { name: 'compression' });
  const encrypt = h('input', { type: 'checkbox', name: 'encrypt', checked: true, id: 'encrypt' });
  const fileName = h('input', { name: 'file-name', value: '{feed}_{slot}.csv' });
  const formatOptions = h('textarea', { name: 'format-options', rows: 3, spellcheck: 'false', placeholder: '{}' });
  const sign = h('input', { type: 'checkbox', name: 'sign', id: 'sign' });
  const manifest = h('input', { type: 'checkbox', name: 'manifest', id: 'manifest', checked: true });
  const triggerSel = select([{ value: '', label: 'No trigger file' }, { value: '.done', label: '.done' }, { value: '.ok', label: '.ok' }], '', { name: 'trigger-suffix' });
  const presetSel = select(PRESETS, '', { name: 'preset' });
  const cron = h('input', { name: 'schedule', placeholder: 'e.g. 0 6 * * 1-5', autocomplete: 'off', spellcheck: 'false' });
  const tzSel = select(timeZones(), Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', { name: 'time-zone' });
  const calSel = select([{ value: '', label: 'No business calendar' }, ...start.calendars.map((c) => ({ value: c.name, label: `${c.name}${c.description ? ` — ${c.description}` : ''}` }))], '', { name: 'calendar' });
  const ruleSel = select([
    { value: 'none', label: 'Run on every slot' },
    { value: 'skip', label: 'Skip non-business days' },
    { value: 'next', label: 'Move to the next business day' },
    { value: 'previous', label: 'Move to the previous business day' },
  ], 'none', { name: 'holiday-rule' });
  const deadline = h('input', { type: 'time', name: 'deadline' });
  const attempts = h('input', { type: 'number', name: 'max-attempts', min: 1, max: 25, value: 5 });
  const catchUp = select([{ value: 'latest', label: 'Only the latest missed slot' }, { value: 'all', label: 'Every missed slot' }], 'latest', { name: 'catch-up' });
  const previewBox = h('div', { id: 'next-runs', 'aria-live': 'polite' });
  const submitBtn = h('button', { type: 'submit' }, 'Submit for approval');
  const msg = h('p', { role: 'alert', id: 'feed-result' });

  // As in the view designer, only the newest of overlapping loads may fill
  // the form, so a quick change of partner cannot show another's views.
  let loads = 0;
  async function loadPartner() {
    const load = ++loads;
    const d = await gql(Q_PARTNER, { slug: partnerSel.value });
    if (load !== loads) return;
    const p = d.partner;
    clear(viewSel).append(...(p.views.length ? p.views.map((v) => h('option', { value: v.name }, `${v.name} (${v.dataset}, v${v.version})`)) : [h('option', { value: '' }, 'No approved view yet')]));
    clear(destSel).append(...(p.destinations.length ? p.destinations.map((x) => h('option', { value: x.name }, `${x.name} (${x.kind.toLowerCase()})`)) : [h('option', { value: '' }, 'No destination yet')]));
    if (!nameInput.value && p.views.length) nameInput.value = `${p.slug}-${p.views[0].name}`.replace(/_/g, '-');
  }

  // The server computes the slots, so the preview shows what will run. As
  // with the partner, only the newest of overlapping responses is shown.
  let previews = 0;
  let previewTimer = 0;
  async function preview() {
    const load = ++previews;
    const expr = cron.value.trim();
    if (!expr) {
      clear(previewBox).append(h('p', { class: 'muted' }, 'No schedule: the feed runs on demand or on events only.'));
      return;
    }
    const cal = start.calendars.find((c) => c.name === calSel.value);
    let runs;
    try {
      const d = await gql(Q_SCHEDULE, { schedule: expr, tz: tzSel.value, cal: cal ? cal.name : null, rule: ruleSel.value });
      runs = d.schedulePreview.map((s) => ({ instant: new Date(s.slot), local: s.localTime.slice(0, 16).replace('T', ' ') }));
    } catch (err) {
      if (load === previews) clear(previewBox).append(h('p', { class: 'error' }, err.message));
      return;
    }
    if (load !== previews) return;
    add(clear(previewBox),
      h('ol', {}, runs.map((r) => h('li', {}, `${r.local} ${tzSel.value}`, h('span', { class: 'muted' }, ` (${r.instant.toISOString().replace('.000', '')})`)))),
      monthGrid(runs, cal ? cal.weekend : []));
  }
  // Typing in the cron field sends one request once the typing pauses.
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => { preview(); }, 250);
  }

  presetSel.addEventListener('change', () => {
    if (presetSel.value) cron.value = presetSel.value;
    schedulePreview();
  });
  for (const el of [cron, tzSel, calSel, ruleSel]) {
    el.addEventListener('input', schedulePreview);
    el.addEventListener('change', schedulePreview);
  }
  partnerSel.addEventListener('change', () => loadPartner().catch((e) => { msg.className = 'error'; msg.textContent = e.message; }));
  // csv takes no format options, so the box is only offered for the others.
  const optionsField = field('Format options (JSON)', formatOptions, 'Options of the format, as docs/formats.md lists them; empty for the defaults.');
  optionsField.hidden = true;
  formatSel.addEventListener('change', () => {
    optionsField.hidden = formatSel.value === 'csv';
  });
  encrypt.addEventListener('change', () => {
    sign.disabled = !encrypt.checked;
    if (!encrypt.checked) sign.checked = false;
  });

  const form = h('form', { id: 'feed-form', novalidate: true },
    h('div', { class: 'grid two' },
      h('div', {},
        h('fieldset', {}, h('legend', {}, 'What and where'),
          field('Partner', partnerSel), field('View', viewSel, 'Only approved views appear here.'),
          field('Destination', destSel), field('Feed name', nameInput, 'Lower-case letters, digits, - and _.')),
        h('fieldset', {}, h('legend', {}, 'Format and packaging'),
          field('Format', formatSel), optionsField, field('Compression', compSel),
          h('div', { class: 'field' }, h('label', { for: 'encrypt' }, encrypt, ' Encrypt to the partner\'s OpenPGP keys')),
          h('div', { class: 'field' }, h('label', { for: 'sign' }, sign, ' Also sign with this instance\'s key (needs encryption)')),
          h('div', { class: 'field' }, h('label', { for: 'manifest' }, manifest, ' Deliver a manifest (.manifest.json) after the data files')),
          field('Trigger file', triggerSel, 'An empty file delivered last, for partners whose jobs wait for one.'),
          field('File name', fileName, 'Placeholders: {feed}, {partner}, {slot}, {run}, {part}. The format\'s extension replaces .csv. The file appears under this name only once it is complete.')),
        h('fieldset', {}, h('legend', {}, 'Delivery rules'),
          field('Deadline (local time)', deadline, 'Optional. A scheduled run not delivered by then is late.'),
          field('Attempts', attempts, '1 to 25; a failed run is retried with a growing wait.'),
          field('After an outage', catchUp))),
      h('div', {},
        h('fieldset', {}, h('legend', {}, 'Schedule'),
          field('Preset', presetSel), field('Cron expression', cron, 'Five fields in the feed\'s time zone, or @hourly, @daily, @weekly, @monthly.'),
          field('Time zone', tzSel), field('Business calendar', calSel), field('Non-business days', ruleSel)),
        h('section', { class: 'card', 'aria-labelledby': 'next-h' }, h('h2', { id: 'next-h' }, 'Next runs'), previewBox),
        h('section', { class: 'card' }, h('div', { class: 'actions' }, submitBtn), msg))));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.className = 'error';
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(nameInput.value)) {
      msg.textContent = `Feed name "${nameInput.value}" is invalid: start with a letter and use a-z, 0-9, - and _.`;
      nameInput.focus();
      return;
    }
    if (!viewSel.value || !destSel.value) {
      msg.textContent = 'Pick an approved view and a destination; an administrator defines destinations.';
      return;
    }
    const options = {
      format: formatSel.value, compression: compSel.value, encrypt: encrypt.checked, sign: sign.checked, manifest: manifest.checked,
      file_name: fileName.value, time_zone: tzSel.value, max_attempts: Number(attempts.value), catch_up: catchUp.value,
    };
    if (triggerSel.value) options.trigger_suffix = triggerSel.value;
    if (formatSel.value !== 'csv' && formatOptions.value.trim()) {
      try {
        options.format_options = JSON.parse(formatOptions.value);
      } catch (err) {
        msg.textContent = `Format options are not valid JSON (${err.message}); write an object such as {"delimiter": "|"}.`;
        formatOptions.focus();
        return;
      }
    }
    if (cron.value.trim()) options.schedule = cron.value.trim();
    if (calSel.value) options.calendar = calSel.value;
    if (ruleSel.value !== 'none') options.holiday_rule = ruleSel.value;
    if (deadline.value) options.deadline = `${deadline.value}:00`;
    // A feed request without a spec carries the live view's spec, so the
    // reviewer approves the view and its delivery together.
    const input = { partner: partnerSel.value, kind: 'FEED', viewName: viewSel.value, feed: { name: nameInput.value, destination: destSel.value, options } };
    submitBtn.disabled = true;
    try {
      const c = await gql(M_CREATE, { input });
      const s = await gql(M_SUBMIT, { id: c.createRequest.id });
      msg.className = 'ok';
      msg.textContent = `Request ${s.submitRequest.id} for feed ${nameInput.value} of view ${s.submitRequest.viewName} is ${s.submitRequest.status.toLowerCase()}; a privacy officer will review it.`;
    } catch (err) {
      msg.textContent = err.message;
    } finally {
      submitBtn.disabled = false;
    }
  });

  main.append(form);
  await loadPartner();
  preview();
  return null;
}
