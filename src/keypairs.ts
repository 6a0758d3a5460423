/**
 * OpenSSH key pairs as Nova makes them when no public key is given: RSA 2048,
 * the public key in OpenSSH format, the private key as PKCS#1 PEM. Shared by
 * every backend whose cloud does not generate keys itself.
 */
import { generateKeyPairSync } from 'node:crypto';

/** An SSH wire-format string: length, then bytes. */
function sshString(buf: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/** An SSH mpint from a JWK's base64url number: no leading zeros, one added when the top bit is set. */
function mpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, 'base64url');
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

/** A fresh RSA 2048 key pair: OpenSSH public key (with `comment`) and PKCS#1 PEM private key. */
export function generateSshKeypair(comment: string): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(jwk.e), mpint(jwk.n)]);
  return {
    publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}
