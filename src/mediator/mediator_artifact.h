/* mediator_artifact.h: the compiled Mediator contract (contracts/Mediator.sol) and its factory
 * (contracts/MediatorFactory.sol), embedded at build time from the committed artifacts
 * contracts/artifacts/Mediator.json and MediatorFactory.json by cmake/EmbedArtifact.cmake.
 * Nothing here needs node or solc at build or run time.
 *
 * All are NUL-terminated, immutable strings with static storage duration. */
#ifndef PAYCHAN_MEDIATOR_MEDIATOR_ARTIFACT_H
#define PAYCHAN_MEDIATOR_MEDIATOR_ARTIFACT_H

/* The Mediator implementation's creation bytecode (no constructor arguments) as lowercase hex with
 * a "0x" prefix and an even number of digits. Channels are not deployed from it but opened as
 * clones through the factory; the factory's constructor deploys it once. */
extern const char pc_mediator_bytecode_hex[];

/* The factory's creation bytecode (no constructor arguments), same format. */
extern const char pc_mediator_factory_bytecode_hex[];

/* The factory's deterministic address (CREATE2 through the deterministic deployment proxy with
 * salt 0, computed by contracts/build.mjs) and its implementation's (the factory's first CREATE),
 * as 0x-prefixed EIP-55 text. */
extern const char pc_mediator_factory_address_hex[];
extern const char pc_mediator_implementation_address_hex[];

/* The contract ABI as JSON text (an array; key order and whitespace are not significant). */
extern const char pc_mediator_abi_json[];

/* The compiler that produced the bytecode, e.g. "solc-js 0.8.37+commit.f401782d.Emscripten.clang". */
extern const char pc_mediator_compiler_version[];

#endif
