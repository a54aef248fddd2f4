#!/usr/bin/env node
// Compiles contracts/Mediator.sol with the npm `solc` (standard JSON interface) and writes the
// committed artifact contracts/artifacts/Mediator.json, which the C build embeds
// (cmake/EmbedArtifact.cmake). Neither node nor solc is needed to build or run the C code.
//
//   node contracts/build.mjs          compile and (re)write the artifact
//   node contracts/build.mjs --check  compile in memory; exit 1 if the committed artifact differs
//
// Any compiler error (or an unexpected compiler version) fails the run with exit status 1.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const CONTRACT = 'Mediator';
const SOURCE_KEY = `${CONTRACT}.sol`; // a fixed key, not a path, so the metadata hash is reproducible
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_PATH = path.join(HERE, SOURCE_KEY);
const ARTIFACT_PATH = path.join(HERE, 'artifacts', `${CONTRACT}.json`);

// cancun: the newest EVM that current geth dev nodes and anvil both run.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: {
    [SOURCE_KEY]: { [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function fail(message) {
  console.error(`contracts/build.mjs: ${message}`);
  process.exit(1);
}

// Returns the artifact object for `source`, or exits on any compiler error.
function compile(source) {
  const input = { language: 'Solidity', sources: { [SOURCE_KEY]: { content: source } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) console.error(d.formattedMessage ?? d.message);
  if (diagnostics.some((d) => d.severity === 'error')) fail(`compiling ${SOURCE_KEY} failed`);

  const contract = output.contracts?.[SOURCE_KEY]?.[CONTRACT];
  if (!contract?.evm?.bytecode?.object) fail(`solc produced no bytecode for ${CONTRACT}`);
  return {
    contractName: CONTRACT,
    compiler: `solc-js ${solc.version()}`,
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
    sourceHash: `sha256:${createHash('sha256').update(source, 'utf8').digest('hex')}`,
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
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

  const artifact = compile(readFileSync(SOURCE_PATH, 'utf8'));
  const text = serialize(artifact);
  const relArtifact = path.relative(process.cwd(), ARTIFACT_PATH) || ARTIFACT_PATH;

  if (check) {
    if (!existsSync(ARTIFACT_PATH)) fail(`${relArtifact} is missing; run: node contracts/build.mjs`);
    const committed = readFileSync(ARTIFACT_PATH, 'utf8');
    if (committed !== text) {
      fail(
        `${relArtifact} is out of date with ${SOURCE_KEY} (${describeDrift(committed, artifact).join('; ')}).\n` +
          '  Run `node contracts/build.mjs` (or `npm run build:contracts`) and commit the artifact.',
      );
    }
    console.log(`${relArtifact} is up to date (${artifact.compiler}).`);
    return;
  }

  mkdirSync(path.dirname(ARTIFACT_PATH), { recursive: true });
  writeFileSync(ARTIFACT_PATH, text);
  console.log(`wrote ${relArtifact} (${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes of creation code)`);
}

main();
