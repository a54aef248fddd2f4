// The request headers of the original prototype's client library (protocol §3),
// made independently of our C: for each target, what that library sends on
// an unstamped call. It signs sha256(toBuffer(sender + target)) with
// ethereumjs-util 5.1.1, whose toBuffer reads a "0x"-prefixed string as hex
// (padded to even length with a leading "0") through Node's Buffer, which
// stops at the first pair that is not hex; and writes the signature with
// toRpcSig: r || s || (v - 27). Here ethers signs and Node's own Buffer
// decodes, so the quirk is Node's, not a re-implementation of it.
//
// Usage: node original_client_sign.mjs <0x private key> <target>...
// Prints one JSON array: [{"target", "x-pay-sender", "x-pay-signature"}, ...].
import { SigningKey, computeAddress, sha256 } from 'ethers';

// ethereumjs-util 5.1.1's toBuffer for strings
function toBuffer(text) {
  if (!text.startsWith('0x')) return Buffer.from(text, 'utf8');
  let hex = text.slice(2);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

const [key, ...targets] = process.argv.slice(2);
const signer = new SigningKey(key);
const sender = computeAddress(signer.publicKey); // EIP-55, as the library configures it
const out = targets.map((target) => {
  const sig = signer.sign(sha256(toBuffer(sender + target)));
  const v = (sig.v - 27).toString(16).padStart(2, '0');
  return { target, 'x-pay-sender': sender, 'x-pay-signature': sig.r + sig.s.slice(2) + v };
});
process.stdout.write(JSON.stringify(out) + '\n');
