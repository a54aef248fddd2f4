// make-dev-keys.mjs: (re)creates the DEVELOPMENT-ONLY keys of the dev chain.
//
//   node devnet/make-dev-keys.mjs                 # keystores from the committed mnemonic
//   node devnet/make-dev-keys.mjs --new-mnemonic  # also replace the mnemonic (new addresses!)
//
// Reads (or with --new-mnemonic writes) dev-only/mnemonic.txt, derives the
// accounts at m/44'/60'/0'/0/i, and writes dev-only/keystores/<name>.json
// (Web3 Secret Storage v3, scrypt N=8192 r=8 p=1 like Foundry's `cast wallet`,
// so unlocking takes milliseconds), dev-only/accounts.json and
// dev-only/password.txt. Salts and IVs are random, so re-running changes the
// keystore files but never the addresses or keys.
//
// THESE KEYS ARE PUBLIC. Never use them, or anything derived from them, on a
// real network.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HDNodeWallet, Mnemonic, decryptKeystoreJsonSync, encryptKeystoreJsonSync, randomBytes } from "ethers";

const DEV_DIR = join(dirname(fileURLToPath(import.meta.url)), "dev-only");
const PASSWORD = "paychan-dev-only-password";
// The example network's services first (docs/protocol.md §8), then spares.
const ACCOUNTS = ["consumer", "persistence", "random", "spare1", "spare2", "spare3"];
const ROLES = {
  consumer: "PublicService (consumer of both providers)",
  persistence: "PersistenceService (provider)",
  random: "RandomNrService (provider)",
};
const SCRYPT = { N: 8192, r: 8, p: 1 };

function loadOrCreateMnemonic(fresh) {
  const file = join(DEV_DIR, "mnemonic.txt");
  if (fresh || !existsSync(file)) {
    const phrase = Mnemonic.fromEntropy(randomBytes(16)).phrase;
    writeFileSync(file, phrase + "\n");
    return phrase;
  }
  return readFileSync(file, "utf8").trim();
}

function main() {
  mkdirSync(join(DEV_DIR, "keystores"), { recursive: true });
  const phrase = loadOrCreateMnemonic(process.argv.includes("--new-mnemonic"));
  writeFileSync(join(DEV_DIR, "password.txt"), PASSWORD + "\n");
  const summary = { _comment: "DEVELOPMENT ONLY: these keys are public. Never fund them on a real network.",
                    mnemonicPath: "m/44'/60'/0'/0/i", accounts: {} };
  ACCOUNTS.forEach((name, index) => {
    const path = `m/44'/60'/0'/0/${index}`;
    const wallet = HDNodeWallet.fromPhrase(phrase, undefined, path);
    // No mnemonic in the keystore: plain v3 files as geth and cast write them.
    const json = encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey },
                                         PASSWORD, { scrypt: SCRYPT });
    // Check the file round-trips before committing to it.
    if (decryptKeystoreJsonSync(json, PASSWORD).privateKey !== wallet.privateKey) {
      throw new Error(`keystore for ${name} does not decrypt`);
    }
    writeFileSync(join(DEV_DIR, "keystores", `${name}.json`), JSON.stringify(JSON.parse(json), null, 2) + "\n");
    summary.accounts[name] = { index, path, address: wallet.address, role: ROLES[name] || "spare" };
  });
  writeFileSync(join(DEV_DIR, "accounts.json"), JSON.stringify(summary, null, 2) + "\n");
  for (const [name, a] of Object.entries(summary.accounts)) console.log(`${a.index} ${name.padEnd(12)} ${a.address}`);
}

main();
