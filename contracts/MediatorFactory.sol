// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Mediator} from "Mediator.sol";

/// @title MediatorFactory: opens payment channels as EIP-1167 minimal proxies (clones) of one
/// Mediator implementation, each initialized (and optionally funded) in the transaction that
/// creates it.
/// @notice Deployed once per chain at a deterministic address (CREATE2 through the deterministic
/// deployment proxy 0x4e59b44847b379578588920ca78fbf26c0b4956c, salt 0), so every party derives
/// the same factory and implementation addresses from the compiled code alone (docs/protocol.md §6).
/// @dev A clone's runtime code is the 45 bytes 363d3d373d3d3d363d73 <implementation>
/// 5af43d82803e903d91602b57fd5bf3. Each clone stores the CREATE nonce that made it, so anyone can
/// check that an address with that code came from here: it is CREATE(factory, creationNonce). (A
/// contract with the same code but made elsewhere, with storage written by its own init code, sits
/// at an address no nonce of this factory gives.) No per-clone record is kept: that would cost a
/// fresh storage slot per channel.
contract MediatorFactory {
    /// The Mediator every channel delegates to; deployed by this constructor (CREATE, nonce 1).
    address public immutable implementation;
    /// The CREATE nonce of this factory's next clone (a contract's nonce starts at 1).
    uint256 private _nextNonce;

    constructor() {
        implementation = address(new Mediator());
        _nextNonce = 2;
    }

    /// @notice Opens a channel from msg.sender (the service consumer) to serviceProvider with the
    /// given terms; msg.value, if any, is the first deposit. The new Mediator emits MediatorCreated
    /// (and Deposited when funded). Invalid terms revert with the Mediator's InvalidTerms(50).
    function createMediator(
        address serviceProvider,
        uint256 initialTokenId,
        uint256 costPerRequest,
        uint256 terminationTimeout,
        uint256 tokenRedemptionTimeout
    ) external payable returns (address mediator) {
        address impl = implementation;
        uint256 nonce = _nextNonce;
        require(nonce <= type(uint32).max); // 4 billion channels per factory
        _nextNonce = nonce + 1;
        // EIP-1167 creation code with the implementation address spliced in (as OpenZeppelin's Clones).
        assembly ("memory-safe") {
            mstore(0x00, or(shr(0xe8, shl(0x60, impl)), 0x3d602d80600a3d3981f3363d3d373d3d3d363d73000000))
            mstore(0x20, or(shl(0x78, impl), 0x5af43d82803e903d91602b57fd5bf3))
            mediator := create(0, 0x09, 0x37)
        }
        require(mediator != address(0)); // cannot happen short of running out of gas
        Mediator(mediator).initialize{value: msg.value}(
            nonce,
            msg.sender, serviceProvider, initialTokenId, costPerRequest, terminationTimeout, tokenRedemptionTimeout
        );
    }

    /// @notice Whether `mediator` is a channel opened by this factory: its code is exactly the
    /// EIP-1167 clone of our implementation and its address is CREATE(this, its creationNonce).
    function isMediator(address mediator) external view returns (bool) {
        bytes memory expected = abi.encodePacked(
            hex"363d3d373d3d3d363d73", implementation, hex"5af43d82803e903d91602b57fd5bf3"
        );
        if (keccak256(mediator.code) != keccak256(expected)) return false;
        uint256 nonce = Mediator(mediator).creationNonce();
        return nonce >= 2 && nonce < _nextNonce && _createAddress(nonce) == mediator;
    }

    /// The address of this contract's CREATE with `nonce` (2 <= nonce < 2^32):
    /// keccak256(rlp([this, nonce]))[12:].
    function _createAddress(uint256 nonce) private view returns (address) {
        bytes memory rlp;
        if (nonce <= 0x7f) rlp = abi.encodePacked(bytes2(0xd694), address(this), uint8(nonce));
        else if (nonce <= 0xff) rlp = abi.encodePacked(bytes2(0xd794), address(this), bytes1(0x81), uint8(nonce));
        else if (nonce <= 0xffff) rlp = abi.encodePacked(bytes2(0xd894), address(this), bytes1(0x82), uint16(nonce));
        else if (nonce <= 0xffffff) rlp = abi.encodePacked(bytes2(0xd994), address(this), bytes1(0x83), uint24(nonce));
        else rlp = abi.encodePacked(bytes2(0xda94), address(this), bytes1(0x84), uint32(nonce));
        return address(uint160(uint256(keccak256(rlp))));
    }
}
