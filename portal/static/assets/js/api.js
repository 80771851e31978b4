// The portal's only ways to reach the server: /auth/ for the session and
// /graphql for data. Every request that changes state carries the session's
// CSRF token in the X-CSRF-Token header.

let session = null;

export class APIError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code || '';
    this.status = status || 0;
  }
}

export function currentSession() {
  return session;
}

// loadSession fetches the signed-in account from the server. It returns null when no one
// is, and keeps the CSRF token for later requests.
export async function loadSession() {
  const resp = await fetch('/auth/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (resp.status === 401 || resp.status === 404) {
    session = null;
    return null;
  }
  if (!resp.ok) throw new APIError(`session check failed: HTTP ${resp.status}`, 'HTTP', resp.status);
  const body = await resp.json();
  session = normalizeSession(body);
  return session;
}

function normalizeSession(body) {
  const account = body.account || body.principal || body;
  return {
    login: account.login || account.name || '',
    role: String(account.role || '').toLowerCase(),
    partner: account.partner_slug || account.partnerSlug || account.partner || '',
    csrfToken: body.csrf_token || body.csrfToken || '',
  };
}

// loginMethods returns {password, oidc}: the sign-in methods the server
// offers. A failed request offers the password form only.
export async function loginMethods() {
  try {
    const resp = await fetch('/auth/methods', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (resp.ok) return await resp.json();
  } catch {
    // Offline or an older server: the password form still works.
  }
  return { password: true, oidc: false };
}

export async function login(loginName, password) {
  const resp = await fetch('/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ login: loginName, password }),
  });
  if (!resp.ok) {
    let msg = resp.status === 401 ? 'Login or password is wrong.' : `Sign-in failed (HTTP ${resp.status}).`;
    try {
      const body = await resp.json();
      if (body.message || body.error) msg = body.message || body.error;
    } catch {
      // The body was not JSON: keep the generic message.
    }
    throw new APIError(msg, 'LOGIN', resp.status);
  }
  return loadSession();
}

export async function logout() {
  await fetch('/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': session ? session.csrfToken : '' },
  });
  session = null;
}

// gql runs one GraphQL operation and returns its data. GraphQL errors become
// one APIError whose message joins theirs, with the first error's code.
export async function gql(query, variables = {}) {
  const resp = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-CSRF-Token': session ? session.csrfToken : '',
    },
    body: JSON.stringify({ query, variables }),
  });
  if (resp.status === 401) {
    session = null;
    window.dispatchEvent(new CustomEvent('axtract:signed-out'));
    throw new APIError('Your session has ended. Sign in again.', 'UNAUTHENTICATED', 401);
  }
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new APIError(`The server returned HTTP ${resp.status} without a GraphQL response.`, 'HTTP', resp.status);
  }
  if (body.errors && body.errors.length) {
    const code = (body.errors[0].extensions && body.errors[0].extensions.code) || '';
    throw new APIError(body.errors.map((e) => e.message).join('; '), code, resp.status);
  }
  return body.data;
}
