// Sign-in with the authorization code flow and PKCE (RFC 7636), against Cognito's managed login or any OIDC
// issuer the page's config names. Tokens live in sessionStorage: they last as long as the tab, never longer.

const KEY = "kb-chat";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

function saved() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "{}");
  } catch {
    return {};
  }
}

function save(value) {
  sessionStorage.setItem(KEY, JSON.stringify(value));
}

/** The signed-in session, or null: {idToken, expiresAt, name, groups}. */
export function session() {
  const { tokens } = saved();
  if (!tokens || tokens.expiresAt <= Date.now()) return null;
  return tokens;
}

/** Cognito's endpoints are in the config; an OIDC issuer's come from its discovery document. */
export async function endpoints(auth) {
  if (!auth.issuer) return auth;
  const discovery = await (await fetch(`${auth.issuer}/.well-known/openid-configuration`)).json();
  return { ...auth, authorizeUrl: discovery.authorization_endpoint, tokenUrl: discovery.token_endpoint,
           logoutUrl: discovery.end_session_endpoint || auth.redirectUri };
}

export async function signIn(auth) {
  const verifier = randomText(48);
  const state = randomText(16);
  save({ ...saved(), pending: { verifier, state } });
  const query = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: auth.scopes || "openid email profile",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${auth.authorizeUrl}?${query}`);
}

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
}

/** Completes a sign-in when the page is the redirect target (?code=...&state=...). */
export async function completeSignIn(auth) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (!code) return null;
  const { pending } = saved();
  window.history.replaceState(null, "", window.location.pathname);
  if (!pending || params.get("state") !== pending.state) throw new Error("The sign-in did not start here; sign in again.");
  const response = await fetch(auth.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code,
      redirect_uri: auth.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`The sign-in failed (${response.status}); sign in again.`);
  const body = await response.json();
  const token = body.id_token;
  const content = claims(token);
  const groupClaim = content[auth.groupClaim || "cognito:groups"];
  const tokens = {
    idToken: token,
    expiresAt: Date.now() + (Number(body.expires_in) || 3600) * 1000,
    name: content.email || content["cognito:username"] || content.name || content.sub,
    groups: Array.isArray(groupClaim) ? groupClaim : groupClaim ? [String(groupClaim)] : [],
  };
  save({ tokens });
  return tokens;
}

export function signOut(auth) {
  sessionStorage.removeItem(KEY);
  const query = new URLSearchParams({ client_id: auth.clientId, logout_uri: auth.redirectUri });
  window.location.assign(`${auth.logoutUrl}?${query}`);
}
