// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Mediator: a one-way payment channel from a service consumer to a service provider.
/// @notice Implements docs/protocol.md §6 (the protocol, in the repository). The consumer opens a
/// channel through MediatorFactory (an EIP-1167 clone of one implementation, initialized in the
/// same transaction), deposits ether and pays per request off chain with cumulative EIP-712 tokens
/// PaymentToken(serviceConsumer, tokenId, requestCount). The provider redeems the newest token of
/// an id in two phases (start, then redeem after a grace period) and pays its earnings out at any
/// time. Either party can close the channel: the provider at once, the consumer after a timeout.
/// @dev Every failure reverts with a custom error whose first parameter is the protocol error code
/// of docs/protocol.md §4, so a Payment Server can simulate a call (eth_call) and report the right code.
/// Ether leaves the contract only after all state is updated (checks-effects-interactions).
/// Terms live in two packed storage slots (a clone has no immutables of its own): cost per request
/// below 2^96 wei, timeouts below 2^32 seconds (136 years); anything larger is refused as invalid
/// terms. The same slots hold the factory's CREATE nonce that made the clone, which proves where it
/// came from: its address must be CREATE(factory, creationNonce) (storage alone can be forged by a
/// contract's own init code, its address cannot).
contract Mediator {
    // ---------------------------------------------------------------------------------------
    // Protocol error codes (docs/protocol.md §4). Each custom error carries its code as first parameter.
    // ---------------------------------------------------------------------------------------
    uint16 private constant CODE_ALREADY_TERMINATED = 1;
    uint16 private constant CODE_ONLY_SERVICE_PROVIDER = 2;
    uint16 private constant CODE_ONLY_SERVICE_CONSUMER = 3;
    uint16 private constant CODE_INVALID_TOKEN_SIGNATURE = 4;
    uint16 private constant CODE_REDEMPTION_TIMEOUT_NOT_PASSED = 30;
    uint16 private constant CODE_TOKEN_ID_IS_ACTIVE = 31;
    uint16 private constant CODE_REDEMPTION_IN_PROGRESS = 32;
    uint16 private constant CODE_TOKEN_ID_USED_BEFORE = 33;
    uint16 private constant CODE_INSUFFICIENT_CONSUMER_FUNDS = 34;
    uint16 private constant CODE_NO_REDEMPTION_IN_PROGRESS = 39;
    uint16 private constant CODE_TERMINATION_NOT_STARTED = 40;
    uint16 private constant CODE_TERMINATION_TIMEOUT_NOT_PASSED = 41;
    uint16 private constant CODE_TERMINATION_ALREADY_STARTED = 42;
    uint16 private constant CODE_INVALID_TERMS = 50;
    uint16 private constant CODE_TRANSFER_FAILED = 102;

    error AlreadyTerminated(uint16 code);
    error OnlyServiceProvider(uint16 code);
    error OnlyServiceConsumer(uint16 code);
    error InvalidTokenSignature(uint16 code);
    error RedemptionTimeoutNotPassed(uint16 code, uint256 timeoutAt, uint256 now_);
    error TokenIdIsActive(uint16 code);
    error RedemptionInProgress(uint16 code);
    error TokenIdUsedBefore(uint16 code);
    error InsufficientConsumerFunds(uint16 code, uint256 needed, uint256 available);
    error NoRedemptionInProgress(uint16 code);
    error TerminationNotStarted(uint16 code);
    error TerminationTimeoutNotPassed(uint16 code, uint256 timeoutAt, uint256 now_);
    error TerminationAlreadyStarted(uint16 code);
    error InvalidTerms(uint16 code);
    error TransferFailed(uint16 code);
    /// initialize() was called by someone other than the factory, or a second time.
    error InitializationRefused(uint16 code);

    // ---------------------------------------------------------------------------------------
    // Events: one per state change, so a Mediator can be followed from its logs alone.
    // ---------------------------------------------------------------------------------------
    event MediatorCreated(
        address indexed serviceConsumer,
        address indexed serviceProvider,
        uint256 initialTokenId,
        uint256 costPerRequest,
        uint256 terminationTimeout,
        uint256 tokenRedemptionTimeout
    );
    /// @param consumerFunds the consumer funds after the deposit
    event Deposited(address indexed serviceConsumer, uint256 amount, uint256 consumerFunds);
    /// @param newTokenId the id that is active afterwards: 0 when termination has started
    event TokenRedemptionStarted(uint256 indexed oldTokenId, uint256 indexed newTokenId, uint256 timeoutAt);
    /// @param amount wei moved from consumer to provider funds (requestCount * costPerRequest)
    event TokenRedeemed(uint256 indexed tokenId, uint256 requestCount, uint256 amount);
    event PaidOut(address indexed serviceProvider, uint256 amount);
    event TerminationStarted(uint256 startedAt, uint256 timeoutAt);
    event Terminated(address indexed by, uint256 consumerPayout, uint256 providerPayout);

    // ---------------------------------------------------------------------------------------
    // EIP-712 (docs/protocol.md §2)
    // ---------------------------------------------------------------------------------------
    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant PAYMENT_TOKEN_TYPEHASH =
        keccak256("PaymentToken(address serviceConsumer,uint256 tokenId,uint256 requestCount)");
    bytes32 private constant NAME_HASH = keccak256("Mediator");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// Largest s of a canonical secp256k1 signature (secp256k1n / 2): higher s are malleable copies.
    uint256 private constant SECP256K1N_HALF =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    // ---------------------------------------------------------------------------------------
    // Terms (set once by initialize) and state. Getter names are kept from the original contract.
    // ---------------------------------------------------------------------------------------
    /// The factory that deployed the implementation: the only caller allowed to initialize a clone.
    address private immutable FACTORY;

    address private _consumer; // slot 0, with the cost: one storage write at creation
    uint96 private _costPerRequest;
    address private _provider; // slot 1, with both timeouts and the creation nonce
    uint32 private _terminationTimeout;
    uint32 private _tokenRedemptionTimeout;
    uint32 private _creationNonce;

    uint256 public serviceConsumerFunds;
    uint256 public serviceProviderFunds;
    /// The id the consumer currently signs tokens for; 0 once the final token was taken into
    /// redemption during termination.
    uint256 public activeTokenId;
    /// The id being redeemed (0 = no redemption in progress) and the end of its grace period.
    uint256 public soonExpiringTokenId;
    uint64 private _soonExpiringTokenIdTimeout; // packed with the termination fields; stale when no id
    /// Unix time the consumer started the termination, 0 = not started.
    uint64 private _terminationStartedAt;
    bool public terminated;
    /// Ids that were active and went into redemption (and the id requested during termination).
    /// With the active and the soon-expiring id they are every id ever used (usedTokenIds).
    mapping(uint256 => bool) private _retiredTokenIds;

    modifier onlyServiceProvider() {
        if (msg.sender != _provider) revert OnlyServiceProvider(CODE_ONLY_SERVICE_PROVIDER);
        _;
    }

    modifier onlyServiceConsumer() {
        if (msg.sender != _consumer) revert OnlyServiceConsumer(CODE_ONLY_SERVICE_CONSUMER);
        _;
    }

    modifier notTerminated() {
        if (terminated) revert AlreadyTerminated(CODE_ALREADY_TERMINATED);
        _;
    }

    /// @notice Deploys the implementation (done once, by MediatorFactory's constructor). The
    /// implementation itself is born terminated and can never be initialized: only clones are used.
    constructor() {
        FACTORY = msg.sender;
        terminated = true;
    }

    /// @notice Opens the channel of a fresh clone; only the factory may call it, once, in the
    /// transaction that creates the clone, with the CREATE nonce it used for it. msg.value (if any)
    /// is the consumer's first deposit.
    function initialize(
        uint256 creationNonce_,
        address serviceConsumer_,
        address serviceProvider_,
        uint256 initialTokenId,
        uint256 costPerRequest_,
        uint256 terminationTimeout_,
        uint256 tokenRedemptionTimeout_
    ) external payable {
        if (msg.sender != FACTORY || _consumer != address(0) || terminated) {
            revert InitializationRefused(CODE_INVALID_TERMS);
        }
        if (
            serviceConsumer_ == address(0) || serviceProvider_ == address(0) || serviceProvider_ == serviceConsumer_
                || initialTokenId == 0 || costPerRequest_ == 0 || costPerRequest_ > type(uint96).max
                || terminationTimeout_ == 0 || terminationTimeout_ > type(uint32).max || tokenRedemptionTimeout_ == 0
                || tokenRedemptionTimeout_ > type(uint32).max
        ) revert InvalidTerms(CODE_INVALID_TERMS);

        _consumer = serviceConsumer_;
        _costPerRequest = uint96(costPerRequest_);
        _provider = serviceProvider_;
        _terminationTimeout = uint32(terminationTimeout_);
        _tokenRedemptionTimeout = uint32(tokenRedemptionTimeout_);
        _creationNonce = uint32(creationNonce_); // the factory keeps it below 2^32
        activeTokenId = initialTokenId;

        emit MediatorCreated(
            serviceConsumer_,
            serviceProvider_,
            initialTokenId,
            costPerRequest_,
            terminationTimeout_,
            tokenRedemptionTimeout_
        );
        if (msg.value > 0) {
            serviceConsumerFunds = msg.value;
            emit Deposited(serviceConsumer_, msg.value, msg.value);
        }
    }

    function serviceConsumer() public view returns (address) {
        return _consumer;
    }

    function serviceProvider() public view returns (address) {
        return _provider;
    }

    function costPerRequest() public view returns (uint256) {
        return _costPerRequest;
    }

    function terminationTimeout() public view returns (uint256) {
        return _terminationTimeout;
    }

    function tokenRedemptionTimeout() public view returns (uint256) {
        return _tokenRedemptionTimeout;
    }

    /// @notice The factory's CREATE nonce that created this clone: its address is
    /// CREATE(factory, creationNonce) exactly when the factory created it.
    function creationNonce() public view returns (uint256) {
        return _creationNonce;
    }

    /// 0 when no redemption is in progress.
    function soonExpiringTokenIdTimeout() public view returns (uint256) {
        return soonExpiringTokenId == 0 ? 0 : _soonExpiringTokenIdTimeout;
    }

    function terminationStartedAt() public view returns (uint256) {
        return _terminationStartedAt;
    }

    /// @notice Whether `tokenId` was ever active or requested: such an id can never be used again.
    function usedTokenIds(uint256 tokenId) public view returns (bool) {
        return _retiredTokenIds[tokenId] || (tokenId != 0 && (tokenId == activeTokenId || tokenId == soonExpiringTokenId));
    }

    /// @notice The EIP-712 domain separator, computed with the current chain id (so a fork with
    /// another chain id does not accept tokens signed for this one).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(EIP712_DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice Adds msg.value to the consumer's funds.
    function depositForServiceConsumer() external payable onlyServiceConsumer notTerminated {
        serviceConsumerFunds += msg.value;
        emit Deposited(msg.sender, msg.value, serviceConsumerFunds);
    }

    /// @notice Phase one of a redemption: the active id becomes soon-expiring (the consumer's
    /// tokens for it stay valid until the grace period ends) and newTokenId becomes active, or
    /// no id becomes active (0) when the consumer has started the termination.
    function startTokenRedemption(uint256 newTokenId) external onlyServiceProvider notTerminated {
        _startTokenRedemption(newTokenId);
    }

    /// @notice Phase two of a redemption, after the grace period: moves requestCount *
    /// costPerRequest from the consumer's to the provider's funds, against the consumer's
    /// EIP-712 signature (v, r, s) of PaymentToken(serviceConsumer, soonExpiringTokenId,
    /// requestCount). A token with no requests (requestCount 0) completes without a signature,
    /// otherwise an unused id would block all further redemptions.
    function redeemToken(uint256 requestCount, uint8 v, bytes32 r, bytes32 s)
        external
        onlyServiceProvider
        notTerminated
    {
        _redeemToken(requestCount, v, r, s);
    }

    /// @notice redeemToken, then payoutForServiceProvider when there is anything to pay, in one
    /// transaction.
    function redeemAndPayout(uint256 requestCount, uint8 v, bytes32 r, bytes32 s)
        external
        onlyServiceProvider
        notTerminated
    {
        _redeemToken(requestCount, v, r, s);
        if (serviceProviderFunds != 0) _payout();
    }

    /// @notice redeemToken, payoutForServiceProvider (when there is anything to pay), then
    /// startTokenRedemption(newTokenId), in one transaction: the soon-expiring id (its grace period
    /// over) is redeemed and the active id enters its own grace period, so the consumer's in-flight
    /// tokens for it still complete. The same as the calls in a row; one transaction per period.
    function redeemPayoutAndStartRedemption(uint256 requestCount, uint8 v, bytes32 r, bytes32 s, uint256 newTokenId)
        external
        onlyServiceProvider
        notTerminated
    {
        _redeemToken(requestCount, v, r, s);
        if (serviceProviderFunds != 0) _payout();
        _startTokenRedemption(newTokenId);
    }

    /// @notice Sends all of the provider's funds to the provider (zero is allowed and sends nothing).
    function payoutForServiceProvider() external onlyServiceProvider {
        _payout();
    }

    /// @notice Starts the consumer's termination; it can be finalized after terminationTimeout.
    /// The provider is expected to start a final redemption meanwhile.
    function startCloseThroughServiceConsumer() external onlyServiceConsumer notTerminated {
        if (_terminationStartedAt != 0) revert TerminationAlreadyStarted(CODE_TERMINATION_ALREADY_STARTED);
        _terminationStartedAt = uint64(block.timestamp);
        emit TerminationStarted(block.timestamp, block.timestamp + _terminationTimeout);
    }

    /// @notice Ends the consumer's termination after its timeout, unless a redemption is still
    /// within its grace period (the provider must get the chance to redeem the final token).
    function finalizeCloseThroughServiceConsumer() external onlyServiceConsumer notTerminated {
        uint256 startedAt = _terminationStartedAt;
        if (startedAt == 0) revert TerminationNotStarted(CODE_TERMINATION_NOT_STARTED);
        uint256 timeoutAt = startedAt + _terminationTimeout;
        if (block.timestamp < timeoutAt) {
            revert TerminationTimeoutNotPassed(CODE_TERMINATION_TIMEOUT_NOT_PASSED, timeoutAt, block.timestamp);
        }
        if (soonExpiringTokenId != 0 && block.timestamp < _soonExpiringTokenIdTimeout) {
            revert RedemptionInProgress(CODE_REDEMPTION_IN_PROGRESS);
        }
        _terminate();
    }

    /// @notice The provider closes the channel at once; both parties get their funds.
    function closeThroughServiceProvider() external onlyServiceProvider notTerminated {
        _terminate();
    }

    /// startTokenRedemption without the caller checks. Timestamps and timeouts (< 2^32) cannot
    /// overflow 64 bits for billions of years, so the timeout is stored packed.
    function _startTokenRedemption(uint256 newTokenId) private {
        uint256 oldTokenId = activeTokenId;
        // The final token was already taken into redemption during the termination.
        if (oldTokenId == 0) revert AlreadyTerminated(CODE_ALREADY_TERMINATED);
        if (soonExpiringTokenId != 0) revert RedemptionInProgress(CODE_REDEMPTION_IN_PROGRESS);
        if (newTokenId == oldTokenId) revert TokenIdIsActive(CODE_TOKEN_ID_IS_ACTIVE);
        if (newTokenId == 0 || _retiredTokenIds[newTokenId]) revert TokenIdUsedBefore(CODE_TOKEN_ID_USED_BEFORE);

        uint256 timeoutAt = block.timestamp + _tokenRedemptionTimeout;
        bool terminating = _terminationStartedAt != 0;
        soonExpiringTokenId = oldTokenId;
        _soonExpiringTokenIdTimeout = uint64(timeoutAt);
        activeTokenId = terminating ? 0 : newTokenId;
        _retiredTokenIds[oldTokenId] = true;
        if (terminating) _retiredTokenIds[newTokenId] = true; // requested, never active: still used

        emit TokenRedemptionStarted(oldTokenId, activeTokenId, timeoutAt);
    }

    /// redeemToken without the caller checks.
    function _redeemToken(uint256 requestCount, uint8 v, bytes32 r, bytes32 s) private {
        uint256 tokenId = soonExpiringTokenId;
        if (tokenId == 0) revert NoRedemptionInProgress(CODE_NO_REDEMPTION_IN_PROGRESS);
        uint256 timeoutAt = _soonExpiringTokenIdTimeout;
        if (block.timestamp < timeoutAt) {
            revert RedemptionTimeoutNotPassed(CODE_REDEMPTION_TIMEOUT_NOT_PASSED, timeoutAt, block.timestamp);
        }

        uint256 amount = 0;
        if (requestCount > 0) {
            if (_recoverTokenSigner(tokenId, requestCount, v, r, s) != _consumer) {
                revert InvalidTokenSignature(CODE_INVALID_TOKEN_SIGNATURE);
            }
            amount = _tokenValue(requestCount);
            uint256 funds = serviceConsumerFunds;
            if (amount > funds) revert InsufficientConsumerFunds(CODE_INSUFFICIENT_CONSUMER_FUNDS, amount, funds);
            serviceConsumerFunds = funds - amount;
            serviceProviderFunds += amount;
        }
        // The id stays used forever (retired when its redemption started); only the slot is freed.
        // The stale timeout is kept (the getter hides it): rewriting a non-zero slot is cheaper.
        soonExpiringTokenId = 0;

        emit TokenRedeemed(tokenId, requestCount, amount);
    }

    /// payoutForServiceProvider without the caller check.
    function _payout() private {
        uint256 amount = serviceProviderFunds;
        serviceProviderFunds = 0;
        emit PaidOut(_provider, amount);
        _send(_provider, amount);
    }

    /// Marks the channel terminated, zeroes both balances, then pays them out.
    function _terminate() private {
        uint256 consumerPayout = serviceConsumerFunds;
        uint256 providerPayout = serviceProviderFunds;
        terminated = true;
        serviceConsumerFunds = 0;
        serviceProviderFunds = 0;
        emit Terminated(msg.sender, consumerPayout, providerPayout);
        _send(_consumer, consumerPayout);
        _send(_provider, providerPayout);
    }

    /// Sends amount wei to `to` (nothing when zero), reverting with TransferFailed on failure.
    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(CODE_TRANSFER_FAILED);
    }

    /// The signer of the EIP-712 token (tokenId, requestCount) for serviceConsumer, or address(0)
    /// when the signature is malformed (v not 27/28/0/1, high s, or no recoverable key).
    function _recoverTokenSigner(uint256 tokenId, uint256 requestCount, uint8 v, bytes32 r, bytes32 s)
        private
        view
        returns (address)
    {
        if (v < 27) v += 27; // accept 0/1 as well as 27/28
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > SECP256K1N_HALF) return address(0);
        bytes32 structHash = keccak256(abi.encode(PAYMENT_TOKEN_TYPEHASH, _consumer, tokenId, requestCount));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
        return ecrecover(digest, v, r, s); // address(0) on failure; serviceConsumer is never 0
    }

    /// requestCount * costPerRequest, saturated at 2^256-1 (which no deposit can ever cover, so
    /// an overflowing count fails as InsufficientConsumerFunds instead of a panic).
    function _tokenValue(uint256 requestCount) private view returns (uint256) {
        uint256 cost = _costPerRequest;
        if (requestCount > type(uint256).max / cost) return type(uint256).max;
        return requestCount * cost;
    }
}
