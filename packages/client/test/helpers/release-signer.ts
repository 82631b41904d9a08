import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { formatSignature, prehash } from '@reach/protocol/node';

/** A throwaway minisign release key for tests (what `reach-server release-key generate` makes). */
export function testReleaseKey(): { line: string; sign: (bytes: Uint8Array) => string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyIdBytes = randomBytes(8);
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const line = Buffer.concat([Buffer.from('Ed', 'latin1'), keyIdBytes, raw]).toString('base64');
  return { line, sign: (bytes) => signWith(privateKey, keyIdBytes, bytes) };
}

function signWith(key: KeyObject, keyIdBytes: Buffer, bytes: Uint8Array): string {
  const trustedComment = `timestamp:${Math.floor(Date.now() / 1000)}\tfile:release.json\thashed`;
  const signature = sign(null, prehash(bytes), key);
  const globalSignature = sign(null, Buffer.concat([signature, Buffer.from(trustedComment)]), key);
  return formatSignature({
    keyIdBytes,
    signature,
    untrustedComment: 'test key',
    trustedComment,
    globalSignature,
  });
}

/** release.json bytes naming one client executable for this machine's platform and arch. */
export function manifestFor(version: string, name: string, body: Uint8Array): Buffer {
  const platform = process.platform === 'win32' ? 'windows' : 'linux';
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  return Buffer.from(
    JSON.stringify({
      version,
      node: process.versions.node,
      artifacts: [
        {
          name,
          kind: 'executable',
          bin: 'reach',
          platform,
          arch,
          size: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
          aliases: [],
        },
      ],
    }),
  );
}
