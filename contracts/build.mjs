#!/usr/bin/env node
// Compiles contracts/Mediator.sol and contracts/MediatorFactory.sol with the npm `solc` (standard
// JSON interface) and writes the committed artifacts contracts/artifacts/Mediator.json and
// MediatorFactory.json, which the C build embeds (cmake/EmbedArtifact.cmake). The factory's
// artifact also names its deterministic address (CREATE2 through the deterministic deployment
// proxy, salt 0) and its implementation's. Neither node nor solc is needed to build or run the C code.
//
//   node contracts/build.mjs          compile and (re)write the artifact
//   node contracts/build.mjs --check  compile in memory; exit 1 if the committed artifact differs
//
// Any compiler error (or an unexpected compiler version) fails the run with exit status 1.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getCreate2Address, getCreateAddress, keccak256 } from 'ethers';
import solc from 'solc';

const CONTRACTS = ['Mediator', 'MediatorFactory'];
const HERE = path.dirname(fileURLToPath(import.meta.url));
// Source keys are fixed names, not paths, so the metadata hash is reproducible.
const sourceKey = (name) => `${name}.sol`;
const artifactPath = (name) => path.join(HERE, 'artifacts', `${name}.json`);
/// The deterministic deployment proxy (same address on anvil and most public chains) and our salt.
const CREATE2_DEPLOYER = '0x4e59b44847b379578588920ca78fbf26c0b4956c';
const FACTORY_SALT = `0x${'00'.repeat(32)}`;

// cancun: the newest EVM that current geth dev nodes and anvil both run.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: Object.fromEntries(
    CONTRACTS.map((c) => [sourceKey(c), { [c]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] }]),
  ),
};

function fail(message) {
  console.error(`contracts/build.mjs: ${message}`);
  process.exit(1);
}

// Returns { name: artifact } for the sources given ({ name: text }), or exits on any compiler error.
function compile(sources) {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(CONTRACTS.map((c) => [sourceKey(c), { content: sources[c] }])),
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) console.error(d.formattedMessage ?? d.message);
  if (diagnostics.some((d) => d.severity === 'error')) fail('compiling the contracts failed');

  const artifacts = {};
  for (const name of CONTRACTS) {
    const contract = output.contracts?.[sourceKey(name)]?.[name];
    if (!contract?.evm?.bytecode?.object) fail(`solc produced no bytecode for ${name}`);
    artifacts[name] = {
      contractName: name,
      compiler: `solc-js ${solc.version()}`,
      settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
      sourceHash: `sha256:${createHash('sha256').update(sources[name], 'utf8').digest('hex')}`,
      abi: contract.abi,
      bytecode: `0x${contract.evm.bytecode.object}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
    };
  }
  const factory = artifacts.MediatorFactory;
  const address = getCreate2Address(CREATE2_DEPLOYER, FACTORY_SALT, keccak256(factory.bytecode));
  factory.deployment = {
    create2Deployer: CREATE2_DEPLOYER,
    salt: FACTORY_SALT,
    address,
    implementation: getCreateAddress({ from: address, nonce: 1 }),
  };
  return artifacts;
}

// Stable formatting: two-space JSON with a final newline; key order as built above.
function serialize(artifact) {
  return `${JSON.stringify(artifact, null, 2)}\n`;
}

// Names the top-level fields that differ, so a drift report says what changed.
function describeDrift(committedText, fresh) {
  let committed;
  try {
    committed = JSON.parse(committedText);
  } catch {
    return ['the committed file is not valid JSON'];
  }
  const keys = new Set([...Object.keys(committed), ...Object.keys(fresh)]);
  const changed = [...keys].filter((k) => JSON.stringify(committed[k]) !== JSON.stringify(fresh[k]));
  return changed.length ? changed.map((k) => `field "${k}" differs`) : ['formatting differs'];
}

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length) fail(`unknown argument(s): ${unknown.join(' ')} (usage: build.mjs [--check])`);

  const sources = Object.fromEntries(CONTRACTS.map((c) => [c, readFileSync(path.join(HERE, sourceKey(c)), 'utf8')]));
  const artifacts = compile(sources);
  for (const name of CONTRACTS) {
    const artifact = artifacts[name];
    const text = serialize(artifact);
    const file = artifactPath(name);
    const rel = path.relative(process.cwd(), file) || file;
    if (check) {
      if (!existsSync(file)) fail(`${rel} is missing; run: node contracts/build.mjs`);
      const committed = readFileSync(file, 'utf8');
      if (committed !== text) {
        fail(
          `${rel} is out of date with ${sourceKey(name)} (${describeDrift(committed, artifact).join('; ')}).\n` +
            '  Run `node contracts/build.mjs` (or `npm run build:contracts`) and commit the artifact.',
        );
      }
      console.log(`${rel} is up to date (${artifact.compiler}).`);
      continue;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${rel} (${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes of creation code)`);
  }
}

main();
