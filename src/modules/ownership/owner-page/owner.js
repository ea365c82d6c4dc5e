// The owner page: a passkey account, claims, transfers and warranty claims, over POST /graphql.
// No libraries: the browser's own WebAuthn JSON methods (PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON, credential.toJSON()) turn the server's options into a ceremony and back.
// The owner session token lives in this tab's sessionStorage only (gone when the tab closes).
'use strict';

(() => {
  const TOKEN_KEY = 'dpp.ownerToken';
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  let token = sessionStorage.getItem(TOKEN_KEY);
  let busy = false;

  const Q = {
    beginRegistration: 'mutation($n: String!) { beginPasskeyRegistration(displayName: $n) { sessionId options } }',
    finishRegistration: 'mutation($s: ID!, $r: JSON!) { finishPasskeyRegistration(sessionId: $s, response: $r) { ownerId token } }',
    beginAuthentication: 'mutation($p: AssertionPurpose!, $id: ID) { beginPasskeyAuthentication(purpose: $p, passportId: $id) { sessionId options } }',
    finishAuthentication: 'mutation($s: ID!, $a: JSON!) { finishPasskeyAuthentication(sessionId: $s, assertion: $a) { ownerId token } }',
    me: '{ me { owner { displayName } } }',
    signOut: 'mutation { signOut }',
    claim: 'mutation($id: ID!, $c: String!, $a: JSON!) { claimOwnership(passportId: $id, claimCode: $c, assertion: $a) { passportId since } }',
    offer: 'mutation($id: ID!, $a: JSON!) { offerOwnershipTransfer(passportId: $id, assertion: $a) { code expiresAt } }',
    cancelOffer: 'mutation($id: ID!) { cancelOwnershipTransfer(passportId: $id) }',
    accept: 'mutation($c: String!, $a: JSON!) { acceptOwnershipTransfer(code: $c, assertion: $a) { passportId since } }',
    warranty: 'mutation($i: WarrantyClaimInput!, $a: JSON!) { fileWarrantyClaim(input: $i, assertion: $a) { id status } }',
    passports: '{ myPassports { id gtin serial status model { name } currentOwnership { since } } }',
  };

  /** What a refusal reason means to the person in front of the page; the reason itself is shown too. */
  const REASONS = {
    USER_VERIFICATION_REQUIRED: 'Your passkey did not verify you (fingerprint, face or device PIN).',
    USER_PRESENCE_REQUIRED: 'Your passkey did not confirm that you were there.',
    BAD_SIGNATURE: "Your passkey's signature does not check out.",
    COUNTER_REGRESSION: "Your passkey's counter went backwards, so it may have been copied. Use another passkey or contact the brand.",
    CHALLENGE_EXPIRED: 'The passkey request took too long. Try again.',
    CHALLENGE_NOT_FOUND: 'The passkey request was already used or is unknown. Try again.',
    UNKNOWN_CREDENTIAL: 'This passkey is not registered here.',
    CREDENTIAL_OF_ANOTHER_OWNER: 'This passkey belongs to another account.',
    WRONG_CLAIM_CODE: 'The claim code does not match this product.',
    NOT_THE_OWNER: 'You are not the current owner of this product.',
    NOT_SOLD: 'This product has not been sold yet, so it cannot be claimed.',
    ALREADY_OWNED: 'This product already has an owner. Ask them to offer you a transfer.',
    NOT_TRANSFERABLE: 'This product cannot be transferred.',
    OFFER_CANCELLED: 'The owner cancelled this transfer.',
    OFFER_EXPIRED: 'This transfer code has expired. Ask the owner for a new one.',
    OFFER_USED: 'This transfer code was already used.',
    OFFER_STALE: 'This transfer code was replaced by a newer one.',
  };

  /** A problem the page itself found; its message is for the person in front of it. */
  class PageError extends Error {}

  class Refusal extends Error {
    constructor(message, code, reason, extensions = {}) {
      super(message);
      this.code = code;
      this.reason = reason;
      this.extensions = extensions;
    }
  }

  function say(state, text, reason) {
    status.dataset.state = state;
    status.textContent = text;
    if (reason) status.dataset.reason = reason;
    else delete status.dataset.reason;
    if (state !== 'busy') status.dataset.seq = String(Number(status.dataset.seq || 0) + 1);
  }

  async function gql(query, variables = {}) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    let body;
    try {
      body = await res.json();
    } catch {
      throw new Refusal(`The server answered ${res.status}.`, `HTTP_${res.status}`);
    }
    const error = body.errors && body.errors[0];
    if (error) {
      const ext = error.extensions || {};
      // A session that expired or was signed out elsewhere: back to signed out.
      if (ext.code === 'UNAUTHENTICATED' && !ext.reason && token) setToken(null);
      throw new Refusal(error.message, ext.code, ext.reason, ext);
    }
    return body.data;
  }

  const UNSUPPORTED = 'This browser cannot use passkeys on this page: it needs a current browser, and HTTPS.';

  function requirePasskeys() {
    const ok = window.isSecureContext && typeof PublicKeyCredential !== 'undefined' && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function';
    if (!ok) throw new PageError(UNSUPPORTED);
  }

  async function createPasskey(options) {
    requirePasskeys();
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    return credential.toJSON();
  }

  async function usePasskey(options) {
    requirePasskeys();
    const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    return credential.toJSON();
  }

  /** A challenge bound to this act and unit, answered by the owner's passkey. */
  async function assertionFor(purpose, passportId) {
    const { beginPasskeyAuthentication: challenge } = await gql(Q.beginAuthentication, { p: purpose, id: passportId });
    return usePasskey(challenge.options);
  }

  function setToken(value) {
    token = value;
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    $('signed-out').hidden = Boolean(value);
    $('signed-in-account').hidden = !value;
    $('signed-in').hidden = !value;
    if (!value) {
      $('session').textContent = 'You are not signed in.';
      $('passports').replaceChildren();
      $('offer-result').hidden = true;
    }
  }

  async function showSignedIn() {
    const { me } = await gql(Q.me);
    const name = me && me.owner ? me.owner.displayName : null;
    $('session').textContent = name ? `Signed in as ${name}.` : 'Signed in.';
    await listPassports();
    return name;
  }

  async function listPassports() {
    const { myPassports } = await gql(Q.passports);
    const items = myPassports.map((p) => {
      const li = document.createElement('li');
      const title = document.createElement('strong');
      title.textContent = p.model ? p.model.name : `GTIN ${p.gtin}`;
      const since = p.currentOwnership ? new Date(p.currentOwnership.since).toLocaleDateString() : '';
      const details = document.createElement('span');
      details.textContent = ` serial ${p.serial}, yours since ${since}. Passport ID: `;
      const id = document.createElement('code');
      id.textContent = p.id;
      li.append(title, details, id);
      li.dataset.passportId = p.id;
      return li;
    });
    $('passports').replaceChildren(...items);
    $('passports-empty').hidden = items.length > 0;
    return items.length;
  }

  function describe(error) {
    if (error instanceof Refusal) {
      const key = error.reason || error.code;
      let text = REASONS[key] || error.message;
      if (error.reason === 'WRONG_CLAIM_CODE' && typeof error.extensions.attemptsLeft === 'number') text += ` ${error.extensions.attemptsLeft} attempts left this hour.`;
      if (error.code === 'RATE_LIMITED') text = `Too many attempts. Try again in ${Math.ceil((error.extensions.retryAfterSeconds || 60) / 60)} minutes.`;
      if (error.code === 'NOT_FOUND') text = 'No product with this passport ID.';
      return { text: `${text} (${key || 'ERROR'})`, reason: key };
    }
    if (error instanceof PageError) return { text: error.message, reason: null };
    if (error && error.name === 'NotAllowedError') return { text: 'The passkey request was cancelled or timed out.', reason: null };
    if (error && error.name === 'InvalidStateError') return { text: 'This device already holds a passkey for this account.', reason: null };
    if (error instanceof TypeError) return { text: 'The server could not be reached. Check your connection and try again.', reason: null };
    return { text: `Something went wrong: ${error && error.message ? error.message : error}`, reason: null };
  }

  /** One act at a time: busy while it runs, then its outcome in the live status region. */
  function act(element, event, label, work) {
    element.addEventListener(event, async (e) => {
      e.preventDefault();
      if (busy) return;
      busy = true;
      // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
      document.body.setAttribute('aria-busy', 'true');
      for (const b of document.querySelectorAll('button')) b.setAttribute('aria-disabled', 'true');
      say('busy', `${label}…`);
      try {
        say('ok', await work(element));
      } catch (error) {
        const { text, reason } = describe(error);
        say('error', `${label} failed. ${text}`, reason);
      } finally {
        busy = false;
        document.body.removeAttribute('aria-busy');
        for (const b of document.querySelectorAll('button')) b.removeAttribute('aria-disabled');
      }
    });
  }

  const field = (form, name) => form.elements.namedItem(name).value.trim();

  act($('register-form'), 'submit', 'Creating your account', async (form) => {
    const { beginPasskeyRegistration: reg } = await gql(Q.beginRegistration, { n: field(form, 'displayName') });
    const response = await createPasskey(reg.options);
    const { finishPasskeyRegistration: session } = await gql(Q.finishRegistration, { s: reg.sessionId, r: response });
    setToken(session.token);
    form.reset();
    const name = await showSignedIn();
    return `Account created. Signed in as ${name}.`;
  });

  act($('sign-in-form'), 'submit', 'Signing in', async () => {
    const { beginPasskeyAuthentication: challenge } = await gql(Q.beginAuthentication, { p: 'SIGN_IN', id: null });
    const assertion = await usePasskey(challenge.options);
    const { finishPasskeyAuthentication: session } = await gql(Q.finishAuthentication, { s: challenge.sessionId, a: assertion });
    setToken(session.token);
    const name = await showSignedIn();
    return `Signed in as ${name}.`;
  });

  act($('sign-out'), 'click', 'Signing out', async () => {
    // Signed out here whatever the server says (a session that already ended is just as gone).
    await gql(Q.signOut).catch(() => undefined);
    setToken(null);
    return 'Signed out.';
  });

  act($('refresh-passports'), 'click', 'Loading your products', async () => {
    const n = await listPassports();
    return n === 1 ? 'You own 1 product.' : `You own ${n} products.`;
  });

  act($('claim-form'), 'submit', 'Claiming the product', async (form) => {
    const passportId = field(form, 'passportId');
    const assertion = await assertionFor('CLAIM_OWNERSHIP', passportId);
    await gql(Q.claim, { id: passportId, c: field(form, 'claimCode'), a: assertion });
    form.reset();
    await listPassports();
    return 'The product is yours: ownership claimed.';
  });

  act($('offer-form'), 'submit', 'Offering a transfer', async (form) => {
    const passportId = field(form, 'passportId');
    $('offer-result').hidden = true;
    const assertion = await assertionFor('OFFER_TRANSFER', passportId);
    const { offerOwnershipTransfer: offer } = await gql(Q.offer, { id: passportId, a: assertion });
    const expires = new Date(offer.expiresAt);
    $('offer-code').textContent = offer.code;
    $('offer-expires').dateTime = expires.toISOString();
    $('offer-expires').textContent = expires.toLocaleString();
    $('offer-result').hidden = false;
    return `Transfer offered. Give the new owner the one-time code ${offer.code}; it is also shown below.`;
  });

  act($('cancel-offer'), 'click', 'Cancelling the offer', async () => {
    const form = $('offer-form');
    if (!field(form, 'passportId')) throw new PageError('Enter the passport ID of the offered product.');
    await gql(Q.cancelOffer, { id: field(form, 'passportId') });
    $('offer-result').hidden = true;
    return 'Transfer offer cancelled; its code no longer works.';
  });

  act($('accept-form'), 'submit', 'Accepting the transfer', async (form) => {
    const assertion = await assertionFor('ACCEPT_TRANSFER', field(form, 'passportId'));
    await gql(Q.accept, { c: field(form, 'code'), a: assertion });
    form.reset();
    await listPassports();
    return 'Transfer accepted: the product is yours.';
  });

  act($('warranty-form'), 'submit', 'Filing the warranty claim', async (form) => {
    const passportId = field(form, 'passportId');
    const assertion = await assertionFor('WARRANTY_CLAIM', passportId);
    const { fileWarrantyClaim: claim } = await gql(Q.warranty, { i: { passportId, issue: field(form, 'issue') }, a: assertion });
    form.reset();
    return `Warranty claim filed. Reference ${claim.id}; the brand will review it (status ${claim.status.toLowerCase()}).`;
  });

  setToken(token);
  if (token) {
    showSignedIn().catch((error) => {
      const { text, reason } = describe(error);
      say('error', token ? `Loading your account failed. ${text}` : 'Your session has ended. Sign in again.', token ? reason : null);
    });
  } else {
    try {
      requirePasskeys();
    } catch (error) {
      say('error', error.message);
    }
  }
})();
