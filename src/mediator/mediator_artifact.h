/* mediator_artifact.h: the compiled Mediator contract (contracts/Mediator.sol), embedded at build
 * time from the committed artifact contracts/artifacts/Mediator.json by cmake/EmbedArtifact.cmake.
 * Nothing here needs node or solc at build or run time.
 *
 * All three are NUL-terminated, immutable strings with static storage duration. */
#ifndef PAYCHAN_MEDIATOR_MEDIATOR_ARTIFACT_H
#define PAYCHAN_MEDIATOR_MEDIATOR_ARTIFACT_H

/* The creation (deployment) bytecode as lowercase hex with a "0x" prefix and an even number of
 * digits. Deploy it with the ABI-encoded constructor arguments appended:
 * (address serviceProvider, uint256 initialTokenId, uint256 costPerRequest,
 *  uint256 terminationTimeout, uint256 tokenRedemptionTimeout). */
extern const char pc_mediator_bytecode_hex[];

/* The contract ABI as JSON text (an array; key order and whitespace are not significant). */
extern const char pc_mediator_abi_json[];

/* The compiler that produced the bytecode, e.g. "solc-js 0.8.37+commit.f401782d.Emscripten.clang". */
extern const char pc_mediator_compiler_version[];

#endif
