'use strict';
// Signs in to Gatehouse's built-in IdP with amazon-cognito-identity-js and its default
// settings (USER_SRP_AUTH), answering a SOFTWARE_TOKEN_MFA challenge when TOTP_SECRET is set,
// and an MFA_SETUP challenge (associate, verify, sign in) when SETUP_MFA is set.
// Run by internal/idp's TestAmazonCognitoIdentityJS; prints one JSON line and exits 0 on
// success, 1 on failure.
//
// Environment: ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD, and optionally TOTP_SECRET
// (base32) and CLOCK_OFFSET_MS (the IdP's clock ahead of this one, for the code's time step).
const crypto = require('crypto');
const { CognitoUserPool, CognitoUser, AuthenticationDetails } = require('amazon-cognito-identity-js');

const env = process.env;

// totp is RFC 6238 with HMAC-SHA-1, 30-second steps and 6 digits.
function totp(secret, nowMs) {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = '';
	for (const c of secret.replace(/=+$/, '').toUpperCase()) {
		const v = alphabet.indexOf(c);
		if (v < 0) throw new Error('bad base32 secret');
		bits += v.toString(2).padStart(5, '0');
	}
	const key = Buffer.alloc(Math.floor(bits.length / 8));
	for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(Math.floor(nowMs / 1000 / 30)));
	const sum = crypto.createHmac('sha1', key).update(msg).digest();
	const off = sum[sum.length - 1] & 0xf;
	const n = (sum.readUInt32BE(off) & 0x7fffffff) % 1000000;
	return String(n).padStart(6, '0');
}

function done(result, code) {
	process.stdout.write(JSON.stringify(result) + '\n');
	process.exit(code);
}

const pool = new CognitoUserPool({ UserPoolId: env.POOL_ID, ClientId: env.CLIENT_ID, endpoint: env.ENDPOINT });
const user = new CognitoUser({ Username: env.USERNAME, Pool: pool });
let mfa = false;
let setup = false;
const callbacks = {
	onSuccess(session) {
		done({
			ok: true,
			flow: user.getAuthenticationFlowType(),
			mfa,
			setup,
			accessToken: session.getAccessToken().getJwtToken(),
			idToken: session.getIdToken().getJwtToken(),
			refreshToken: session.getRefreshToken().getToken(),
		}, 0);
	},
	onFailure(err) {
		done({ ok: false, code: err.code || err.name, message: err.message }, 1);
	},
	totpRequired(challengeName) {
		if (!env.TOTP_SECRET) {
			done({ ok: false, code: 'UnexpectedChallenge', message: challengeName }, 1);
		}
		mfa = true;
		const code = totp(env.TOTP_SECRET, Date.now() + Number(env.CLOCK_OFFSET_MS || 0));
		user.sendMFACode(code, callbacks, 'SOFTWARE_TOKEN_MFA');
	},
	mfaSetup(challengeName) {
		if (!env.SETUP_MFA) {
			done({ ok: false, code: 'UnexpectedChallenge', message: challengeName }, 1);
		}
		setup = true;
		user.associateSoftwareToken({
			associateSecretCode(secret) {
				const code = totp(secret, Date.now() + Number(env.CLOCK_OFFSET_MS || 0));
				user.verifySoftwareToken(code, 'js-test', callbacks);
			},
			onFailure: callbacks.onFailure,
		});
	},
	mfaRequired(challengeName) {
		done({ ok: false, code: 'UnexpectedChallenge', message: challengeName }, 1);
	},
	newPasswordRequired() {
		done({ ok: false, code: 'UnexpectedChallenge', message: 'NEW_PASSWORD_REQUIRED' }, 1);
	},
};
user.authenticateUser(new AuthenticationDetails({ Username: env.USERNAME, Password: env.PASSWORD }), callbacks);
