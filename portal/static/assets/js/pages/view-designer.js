// View designer: an analyst picks a partner and a dataset, chooses columns
// and their transforms, and adds filters. The page shows the minimum-necessary
// check and the first rows as the partner would read them, and submits the
// view for a privacy officer's approval.

import { h, add, clear, field, select, announce } from '../dom.js';
import { gql } from '../api.js';

export const title = 'Design a view';
export const help = [
  'A view is what one partner may read: a dataset, the columns it shows, a transform per column and filters on the rows. Nothing changes until a privacy officer approves your request.',
  'Start from a template or from an empty view. Tick the columns the partner needs; drag them, or use the Up and Down buttons, to set their order in the file.',
  [
    'pseudonym replaces a member id with a key that is stable for this partner and means nothing elsewhere.',
    'year, month, age and age band coarsen dates; date shift moves them by a per-member number of days.',
    'zip3 keeps the first three digits of a ZIP code; mask keeps the last characters; truncate keeps the first.',
  ],
  'The check on the right runs on every change. A column marked "not allowed" may not leave untransformed under the partner\'s purpose of use (the minimum-necessary rule); pick a transform or leave it out.',
  'The preview shows the first rows exactly as the partner would read them, with its consents and the transforms applied.',
  'Keyboard: Tab moves between controls, Space ticks a column, and the Up and Down buttons move the focused column.',
];

const DATE_TRANSFORMS = ['none', 'year', 'month', 'age', 'age_band', 'date_shift'];
const TEXT_TRANSFORMS = ['none', 'zip3', 'mask', 'truncate'];
const OPERATORS = ['=', '<>', '<', '<=', '>', '>=', 'in', 'not_in', 'is_null', 'not_null'];
const PARAM = { mask: ['keep', 4], truncate: ['length', 4], age_band: ['width', 5] };

const Q_START = `query DesignerStart {
  partners(first: 100) { edges { node { slug name purposeOfUse dataUseAgreementInForce } } }
  datasets { name description }
  requestTemplates { name title description purposeOfUse spec }
}`;

const Q_DATASET = `query DesignerDataset($name: String!, $partner: String!) {
  dataset(name: $name) {
    name description
    columns { name ordinal dataType classification safeHarborKind freeText description allowedFor(partner: $partner) }
  }
}`;

const Q_PREVIEW = `query DesignerPreview($partner: String!, $spec: JSON!) {
  viewPreview(partner: $partner, spec: $spec, limit: 10) {
    valid truncated compiledSql
    validation { code message hint path }
    columns { name type }
    rows
  }
}`;

const M_CREATE = `mutation CreateViewRequest($input: RequestInput!) {
  createRequest(input: $input) { id status }
}`;

const M_SUBMIT = `mutation SubmitRequest($id: ID!) {
  submitRequest(id: $id) { id status viewName version partner { slug } }
}`;

function transformsFor(col) {
  const list = col.dataType === 'date' || col.dataType === 'timestamptz' ? DATE_TRANSFORMS
    : col.dataType === 'text' ? TEXT_TRANSFORMS : ['none'];
  return col.name === 'member_id' || col.safeHarborKind === 'member_id' || /(^|_)member_id$/.test(col.name) ? ['none', 'pseudonym', ...list.slice(1)] : list;
}

function classLabel(c) {
  return c.toLowerCase().replace('_', ' ');
}

export async function render(main) {
  const data = await gql(Q_START);
  const partners = data.partners.edges.map((e) => e.node);
  const templates = data.requestTemplates;
  if (!partners.length) {
    main.append(h('p', {}, 'No partner exists yet. An administrator creates partners with axtract partner create.'));
    return null;
  }

  // state.columns contains every dataset column in display order, with the
  // designer's choices on each.
  const state = { partner: partners[0].slug, dataset: data.datasets[0] ? data.datasets[0].name : '', columns: [], filters: [], template: '' };
  let previewTimer = null;
  let previewSeq = 0;

  const templateSel = h('select', { name: 'template' });
  const templateHint = h('p', { class: 'hint', id: 'template-desc' });
  templateSel.setAttribute('aria-describedby', 'template-desc');

  // Templates are written for one purpose of use; offer those of the
  // partner's purpose first, and the others after them.
  function fillTemplates() {
    const purpose = (partners.find((p) => p.slug === state.partner) || {}).purposeOfUse;
    const fits = templates.filter((t) => t.purposeOfUse === purpose);
    const others = templates.filter((t) => t.purposeOfUse !== purpose);
    add(clear(templateSel),
      h('option', { value: '' }, 'Empty view'),
      fits.length ? h('optgroup', { label: `For ${String(purpose).toLowerCase().replace('_', ' ')}` }, fits.map((t) => h('option', { value: t.name }, t.title))) : null,
      others.length ? h('optgroup', { label: 'Other purposes' }, others.map((t) => h('option', { value: t.name }, `${t.title} (${t.purposeOfUse.toLowerCase().replace('_', ' ')})`))) : null);
    templateSel.value = state.template && templates.some((t) => t.name === state.template) ? state.template : '';
  }
  const partnerSel = select(partners.map((p) => ({ value: p.slug, label: `${p.name} (${p.slug}, ${p.purposeOfUse.toLowerCase().replace('_', ' ')})` })), state.partner, { name: 'partner' });
  const datasetSel = select(data.datasets.map((d) => ({ value: d.name, label: d.name })), state.dataset, { name: 'dataset' });
  const nameInput = h('input', { name: 'view-name', required: true, pattern: '[a-z][a-z0-9_]{0,62}', value: '', autocomplete: 'off' });
  const profileSel = select([{ value: 'none', label: 'none' }, { value: 'safe_harbor', label: 'HIPAA Safe Harbor' }, { value: 'limited_data_set', label: 'limited data set' }], 'none', { name: 'profile' });

  const columnList = h('ul', { class: 'columns', id: 'columns', 'aria-label': 'Columns of the dataset' });
  const filterBox = h('div', { id: 'filters' });
  const checkBox = h('div', { class: 'check', id: 'check', 'aria-live': 'polite' }, 'Pick at least one column.');
  const previewBox = h('div', { id: 'preview', class: 'table-wrap' });
  const submitBtn = h('button', { type: 'submit', id: 'submit-view' }, 'Submit for approval');
  const submitMsg = h('p', { role: 'alert', id: 'submit-result' });

  function spec() {
    const columns = state.columns.filter((c) => c.selected).map((c) => {
      if (c.transform === 'none' && !c.as) return c.name;
      const item = { column: c.name };
      if (c.as) item.as = c.as;
      if (c.transform !== 'none') item.transform = c.transform;
      const p = PARAM[c.transform];
      if (p) item[p[0]] = Number(c.param);
      return item;
    });
    const filters = state.filters.filter((f) => f.column).map((f) => {
      const out = { column: f.column, op: f.op };
      if (f.op === 'in' || f.op === 'not_in') out.value = f.value.split(',').map((v) => v.trim()).filter(Boolean);
      else if (f.op !== 'is_null' && f.op !== 'not_null') out.value = f.value;
      return out;
    });
    const out = { dataset: state.dataset, columns };
    if (filters.length) out.filters = filters;
    if (profileSel.value !== 'none') out.profile = profileSel.value;
    return out;
  }

  function renderColumns() {
    clear(columnList);
    state.columns.forEach((c, i) => {
      const box = h('input', { type: 'checkbox', checked: c.selected, id: `col-${c.name}`, name: `col-${c.name}` });
      box.addEventListener('change', () => {
        c.selected = box.checked;
        li.classList.toggle('selected', c.selected);
        changed();
      });
      const transformSel = select(transformsFor(c), c.transform, { 'aria-label': `Transform of ${c.name}`, name: `transform-${c.name}` });
      transformSel.addEventListener('change', () => {
        c.transform = transformSel.value;
        if (PARAM[c.transform]) c.param = PARAM[c.transform][1];
        renderColumns();
        changed();
      });
      const asInput = h('input', { value: c.as, placeholder: 'rename (optional)', 'aria-label': `Output name of ${c.name}`, size: 14 });
      asInput.addEventListener('input', () => {
        c.as = asInput.value.trim();
        changed();
      });
      const controls = [transformSel, asInput];
      if (PARAM[c.transform]) {
        const p = h('input', { type: 'number', min: 0, max: 64, value: c.param, 'aria-label': `${PARAM[c.transform][0]} for ${c.name}`, size: 4 });
        p.addEventListener('input', () => {
          c.param = p.value;
          changed();
        });
        controls.push(p);
      }
      const up = h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${c.name} up`, disabled: i === 0 }, '↑');
      const down = h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${c.name} down`, disabled: i === state.columns.length - 1 }, '↓');
      up.addEventListener('click', () => move(i, i - 1, `Move ${c.name} up`));
      down.addEventListener('click', () => move(i, i + 1, `Move ${c.name} down`));
      const allowed = c.allowedFor || c.transform !== 'none';
      const li = h('li', { class: c.selected ? 'selected' : '', draggable: 'true', dataset: { index: String(i), column: c.name } },
        box,
        h('label', { for: box.id },
          h('strong', {}, c.name), ' ',
          h('span', { class: 'class' }, `${c.dataType}, ${classLabel(c.classification)}`),
          allowed ? null : h('span', { class: 'warn' }, ' · not allowed untransformed'),
          c.description ? h('span', { class: 'hint' }, ` — ${c.description}`) : null),
        h('div', { class: 'col-controls' }, controls, h('span', { class: 'move' }, up, ' ', down)));
      li.addEventListener('dragstart', (ev) => {
        ev.dataTransfer.setData('text/plain', String(i));
        li.classList.add('dragging');
      });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      li.addEventListener('dragover', (ev) => ev.preventDefault());
      li.addEventListener('drop', (ev) => {
        ev.preventDefault();
        const from = Number(ev.dataTransfer.getData('text/plain'));
        move(from, i);
      });
      columnList.append(li);
    });
  }

  function move(from, to, focusLabel) {
    if (to < 0 || to >= state.columns.length || from === to) return;
    const [c] = state.columns.splice(from, 1);
    state.columns.splice(to, 0, c);
    renderColumns();
    changed();
    announce(`${c.name} is now column ${to + 1}.`);
    if (focusLabel) {
      const btn = columnList.querySelector(`[aria-label="${focusLabel}"]`);
      if (btn && !btn.disabled) btn.focus();
      else columnList.querySelector(`#col-${CSS.escape(c.name)}`).focus();
    }
  }

  function renderFilters() {
    clear(filterBox);
    state.filters.forEach((f, i) => {
      const colSel = select([{ value: '', label: 'column…' }, ...state.columns.map((c) => ({ value: c.name, label: c.name }))], f.column, { 'aria-label': `Filter ${i + 1} column` });
      const opSel = select(OPERATORS, f.op, { 'aria-label': `Filter ${i + 1} operator` });
      const valInput = h('input', { value: f.value, 'aria-label': `Filter ${i + 1} value`, placeholder: 'value (comma-separated for in)', hidden: f.op === 'is_null' || f.op === 'not_null' });
      const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove filter ${i + 1}` }, 'Remove');
      colSel.addEventListener('change', () => { f.column = colSel.value; changed(); });
      opSel.addEventListener('change', () => { f.op = opSel.value; renderFilters(); changed(); });
      valInput.addEventListener('input', () => { f.value = valInput.value; changed(); });
      remove.addEventListener('click', () => { state.filters.splice(i, 1); renderFilters(); changed(); });
      filterBox.append(h('div', { class: 'actions' }, colSel, opSel, valInput, remove));
    });
  }

  function localCheck() {
    const chosen = state.columns.filter((c) => c.selected);
    const problems = chosen.filter((c) => !c.allowedFor && c.transform === 'none')
      .map((c) => `${c.name} (${classLabel(c.classification)}) may not leave untransformed for this partner.`);
    return { chosen, problems };
  }

  function showCheck(serverMessages) {
    const { chosen, problems } = localCheck();
    clear(checkBox);
    const msgs = [...problems, ...(serverMessages || []).map((m) => `${m.message}${m.hint ? ` ${m.hint}` : ''}`)];
    const unique = [...new Set(msgs)];
    if (!chosen.length) {
      checkBox.dataset.ok = 'false';
      checkBox.append('Pick at least one column.');
    } else if (unique.length) {
      checkBox.dataset.ok = 'false';
      checkBox.append(h('strong', {}, 'Minimum necessary: not yet'), h('ul', {}, unique.map((m) => h('li', {}, m))));
    } else {
      checkBox.dataset.ok = 'true';
      checkBox.append(h('strong', {}, 'Minimum necessary: passes'), ` ${chosen.length} column${chosen.length === 1 ? '' : 's'}, each allowed or transformed.`);
    }
    submitBtn.disabled = !chosen.length || unique.length > 0;
  }

  function changed() {
    showCheck();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, 400);
  }

  async function runPreview() {
    const seq = ++previewSeq;
    const sp = spec();
    if (!sp.columns.length) {
      clear(previewBox).append(h('p', { class: 'muted' }, 'The preview appears when a column is picked.'));
      return;
    }
    clear(previewBox).append(h('p', { class: 'muted' }, 'Loading preview…'));
    try {
      const res = await gql(Q_PREVIEW, { partner: state.partner, spec: sp });
      if (seq !== previewSeq) return;
      const p = res.viewPreview;
      showCheck(p.validation);
      clear(previewBox);
      if (!p.valid) {
        previewBox.append(h('p', { class: 'error' }, 'The server rejected this view; the check above says why.'));
        return;
      }
      add(previewBox,
        h('table', { id: 'preview-table' },
          h('caption', { class: 'muted' }, `First ${p.rows.length} rows as ${state.partner} would read them${p.truncated ? ' (more exist)' : ''}.`),
          h('thead', {}, h('tr', {}, p.columns.map((c) => h('th', { scope: 'col' }, c.name, h('br'), h('span', { class: 'class' }, c.type))))),
          h('tbody', {}, p.rows.map((r) => h('tr', {}, r.map((v) => h('td', {}, v === null ? h('span', { class: 'muted' }, 'NULL') : v)))))),
        p.rows.length ? null : h('p', { class: 'muted' }, 'No row passes the consents and filters yet.'),
        p.compiledSql ? h('details', {}, h('summary', {}, 'SQL the view compiles to'), h('pre', {}, h('code', {}, p.compiledSql))) : null);
    } catch (err) {
      if (seq !== previewSeq) return;
      clear(previewBox).append(h('p', { class: 'error' }, err.message));
    }
  }

  // Each load is numbered: the page's first load and a template picked
  // before it answers race, and only the newest may fill the form.
  let loads = 0;
  async function loadDataset(preset) {
    if (!state.dataset) return;
    const load = ++loads;
    const res = await gql(Q_DATASET, { name: state.dataset, partner: state.partner });
    if (load !== loads) return;
    const cols = res.dataset ? res.dataset.columns : [];
    const pick = new Map();
    ((preset && preset.columns) || []).forEach((item, i) => {
      const o = typeof item === 'string' ? { column: item } : item;
      pick.set(o.column, { order: i, ...o });
    });
    state.columns = cols.map((c) => {
      const p = pick.get(c.name);
      const transform = (p && p.transform) || 'none';
      return {
        ...c,
        selected: Boolean(p),
        transform,
        as: (p && p.as) || '',
        param: p && PARAM[transform] ? (p[PARAM[transform][0]] ?? PARAM[transform][1]) : '',
        order: p ? p.order : 1000 + c.ordinal,
      };
    }).sort((a, b) => a.order - b.order);
    state.filters = ((preset && preset.filters) || []).map((f) => ({
      column: f.column, op: f.op, value: Array.isArray(f.value) ? f.value.join(', ') : (f.value ?? ''),
    }));
    profileSel.value = (preset && preset.profile) || 'none';
    renderColumns();
    renderFilters();
    changed();
  }

  function applyTemplate(name) {
    const t = templates.find((x) => x.name === name);
    templateHint.textContent = t ? t.description : '';
    state.template = name;
    if (!t) return loadDataset(null);
    const sp = t.spec || {};
    if (sp.dataset) {
      state.dataset = sp.dataset;
      datasetSel.value = sp.dataset;
    }
    if (!nameInput.value) nameInput.value = t.name;
    return loadDataset(sp);
  }

  templateSel.addEventListener('change', () => applyTemplate(templateSel.value).catch((e) => announce(e.message, 'error')));
  partnerSel.addEventListener('change', () => {
    state.partner = partnerSel.value;
    fillTemplates();
    loadDataset(spec()).catch((e) => announce(e.message, 'error'));
  });
  datasetSel.addEventListener('change', () => {
    state.dataset = datasetSel.value;
    loadDataset(null).catch((e) => announce(e.message, 'error'));
  });
  profileSel.addEventListener('change', changed);

  const addFilter = h('button', { type: 'button', class: 'secondary', id: 'add-filter' }, 'Add a filter');
  addFilter.addEventListener('click', () => {
    state.filters.push({ column: '', op: '=', value: '' });
    renderFilters();
    filterBox.lastChild.querySelector('select').focus();
  });

  const form = h('form', { id: 'view-form', novalidate: true },
    h('div', { class: 'grid designer' },
      h('div', {},
        h('fieldset', {}, h('legend', {}, 'Start'),
          field('Template', templateSel), templateHint,
          field('Partner', partnerSel, 'The view is created in this partner\'s schema and checked against its purpose of use.'),
          field('Dataset', datasetSel),
          field('Profile', profileSel, 'A de-identification profile adds its own rules to the check.')),
        h('fieldset', {}, h('legend', {}, 'Columns'), columnList),
        h('fieldset', {}, h('legend', {}, 'Filters'), filterBox, addFilter)),
      h('div', {},
        h('section', { class: 'card', 'aria-labelledby': 'check-h' }, h('h2', { id: 'check-h' }, 'Check'), checkBox),
        h('section', { class: 'card', 'aria-labelledby': 'preview-h' }, h('h2', { id: 'preview-h' }, 'Preview'), previewBox),
        h('section', { class: 'card', 'aria-labelledby': 'submit-h' }, h('h2', { id: 'submit-h' }, 'Request'),
          field('View name', nameInput, 'Lower-case letters, digits and underscores; the partner reads it as partner_<slug>.<name>.'),
          h('div', { class: 'actions' }, submitBtn), submitMsg))));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submitMsg.className = 'error';
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(nameInput.value)) {
      submitMsg.textContent = `View name "${nameInput.value}" is invalid: start with a letter and use a-z, 0-9 and _.`;
      nameInput.focus();
      return;
    }
    submitBtn.disabled = true;
    try {
      const input = { partner: state.partner, kind: 'VIEW', viewName: nameInput.value, spec: spec() };
      if (state.template) input.template = state.template;
      const created = await gql(M_CREATE, { input });
      const submitted = await gql(M_SUBMIT, { id: created.createRequest.id });
      submitMsg.className = 'ok';
      const r = submitted.submitRequest;
      submitMsg.textContent = `Request ${r.id} for ${r.partner.slug}.${r.viewName} (version ${r.version}) is ${r.status.toLowerCase()}; a privacy officer will review it.`;
    } catch (err) {
      submitMsg.textContent = err.message;
      submitBtn.disabled = false;
    }
  });

  main.append(form);
  fillTemplates();
  await loadDataset(null);
  return () => clearTimeout(previewTimer);
}
