// Makes JWT test vectors with the `jose` package (an independent JOSE
// implementation) for tests/unit/test_auth.c: for every algorithm a key pair
// (public JWK, as moq-token writes it) and tokens. Usage: node auth_vectors.mjs OUT.json
import * as jose from 'jose';
import { writeFileSync } from 'node:fs';

const algs = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'EdDSA'];
const now = Math.floor(Date.now() / 1000);
const out = [];
for (const alg of algs) {
  let priv, jwk, pem = null;
  if (alg.startsWith('HS')) {
    priv = await jose.generateSecret(alg, { extractable: true });
    jwk = await jose.exportJWK(priv);
  } else {
    const opts = { extractable: true };
    if (alg === 'EdDSA') opts.crv = 'Ed25519';
    const kp = await jose.generateKeyPair(alg, opts);
    priv = kp.privateKey;
    jwk = await jose.exportJWK(kp.publicKey);
    pem = await jose.exportSPKI(kp.publicKey);
  }
  const kid = `kid-${alg.toLowerCase()}`;
  jwk = { ...jwk, alg, kid, key_ops: ['verify'] };
  const sign = (claims, hdr = {}) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', kid, ...hdr }).sign(priv);
  out.push({
    alg, kid, jwk: JSON.stringify(jwk), pem,
    ok: await sign({ root: 'room', put: 'alice', get: [''], exp: now + 3600, iat: now }),
    old_names: await sign({ root: 'room', pub: ['alice', 'carol'], sub: 'bob' }),
    expired: await sign({ root: 'room', put: 'alice', exp: now - 10 }),
    not_yet: await sign({ root: 'room', put: 'alice', nbf: now + 3600 }),
    wrong_kid: await sign({ root: 'room', put: 'alice' }, { kid: 'no-such-kid' }),
    other_root: await sign({ root: 'elsewhere', put: '', get: '' }),
  });
}
// alg none: header {"alg":"none"}, the payload of a valid token, empty signature.
const b64 = (s) => Buffer.from(s).toString('base64url');
out.push({ alg: 'none', none: `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify({ root: 'room', put: '' }))}.` });
writeFileSync(process.argv[2], JSON.stringify(out));
