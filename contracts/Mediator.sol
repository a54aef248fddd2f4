// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Mediator: a one-way payment channel from a service consumer to a service provider.
/// @notice Implements docs/protocol.md §6 (the protocol, in the repository). The consumer deploys the
/// contract, deposits ether and pays per request off chain with cumulative EIP-712 tokens
/// PaymentToken(serviceConsumer, tokenId, requestCount). The provider redeems the newest token of
/// an id in two phases (start, then redeem after a grace period) and pays its earnings out at any
/// time. Either party can close the channel: the provider at once, the consumer after a timeout.
/// @dev Every failure reverts with a custom error whose first parameter is the protocol error code
/// of docs/protocol.md §4, so a Payment Server can simulate a call (eth_call) and report the right code.
/// Ether leaves the contract only after all state is updated (checks-effects-interactions).
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
    // Terms (immutable) and state. Getter names are kept from the original contract.
    // ---------------------------------------------------------------------------------------
    address public immutable serviceConsumer;
    address public immutable serviceProvider;
    uint256 public immutable costPerRequest;
    uint256 public immutable terminationTimeout;
    uint256 public immutable tokenRedemptionTimeout;

    uint256 public serviceConsumerFunds;
    uint256 public serviceProviderFunds;
    /// The id the consumer currently signs tokens for; 0 once the final token was taken into
    /// redemption during termination.
    uint256 public activeTokenId;
    /// The id being redeemed (0 = no redemption in progress) and the end of its grace period.
    uint256 public soonExpiringTokenId;
    uint256 public soonExpiringTokenIdTimeout;
    /// Unix time the consumer started the termination, 0 = not started.
    uint256 public terminationStartedAt;
    bool public terminated;
    /// Every id ever active or requested stays here, so no id can be used twice.
    mapping(uint256 => bool) public usedTokenIds;

    modifier onlyServiceProvider() {
        if (msg.sender != serviceProvider) revert OnlyServiceProvider(CODE_ONLY_SERVICE_PROVIDER);
        _;
    }

    modifier onlyServiceConsumer() {
        if (msg.sender != serviceConsumer) revert OnlyServiceConsumer(CODE_ONLY_SERVICE_CONSUMER);
        _;
    }

    modifier notTerminated() {
        if (terminated) revert AlreadyTerminated(CODE_ALREADY_TERMINATED);
        _;
    }

    /// @notice Opens the channel; the deployer is the service consumer. (Parameters carry a
    /// trailing underscore only so as not to shadow the getters of the same name.)
    constructor(
        address serviceProvider_,
        uint256 initialTokenId,
        uint256 costPerRequest_,
        uint256 terminationTimeout_,
        uint256 tokenRedemptionTimeout_
    ) {
        if (
            serviceProvider_ == address(0) || serviceProvider_ == msg.sender || initialTokenId == 0
                || costPerRequest_ == 0 || terminationTimeout_ == 0 || tokenRedemptionTimeout_ == 0
        ) revert InvalidTerms(CODE_INVALID_TERMS);

        serviceConsumer = msg.sender;
        serviceProvider = serviceProvider_;
        costPerRequest = costPerRequest_;
        terminationTimeout = terminationTimeout_;
        tokenRedemptionTimeout = tokenRedemptionTimeout_;
        activeTokenId = initialTokenId;
        usedTokenIds[initialTokenId] = true;

        emit MediatorCreated(
            msg.sender, serviceProvider_, initialTokenId, costPerRequest_, terminationTimeout_, tokenRedemptionTimeout_
        );
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
        // The final token was already taken into redemption during the termination.
        if (activeTokenId == 0) revert AlreadyTerminated(CODE_ALREADY_TERMINATED);
        if (soonExpiringTokenId != 0) revert RedemptionInProgress(CODE_REDEMPTION_IN_PROGRESS);
        if (newTokenId == activeTokenId) revert TokenIdIsActive(CODE_TOKEN_ID_IS_ACTIVE);
        if (newTokenId == 0 || usedTokenIds[newTokenId]) revert TokenIdUsedBefore(CODE_TOKEN_ID_USED_BEFORE);

        uint256 oldTokenId = activeTokenId;
        uint256 timeoutAt = _saturatingAdd(block.timestamp, tokenRedemptionTimeout);
        soonExpiringTokenId = oldTokenId;
        soonExpiringTokenIdTimeout = timeoutAt;
        activeTokenId = terminationStartedAt != 0 ? 0 : newTokenId;
        usedTokenIds[newTokenId] = true;

        emit TokenRedemptionStarted(oldTokenId, activeTokenId, timeoutAt);
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
        uint256 tokenId = soonExpiringTokenId;
        if (tokenId == 0) revert NoRedemptionInProgress(CODE_NO_REDEMPTION_IN_PROGRESS);
        if (block.timestamp < soonExpiringTokenIdTimeout) {
            revert RedemptionTimeoutNotPassed(
                CODE_REDEMPTION_TIMEOUT_NOT_PASSED, soonExpiringTokenIdTimeout, block.timestamp
            );
        }

        uint256 amount = 0;
        if (requestCount > 0) {
            if (_recoverTokenSigner(tokenId, requestCount, v, r, s) != serviceConsumer) {
                revert InvalidTokenSignature(CODE_INVALID_TOKEN_SIGNATURE);
            }
            amount = _tokenValue(requestCount);
            if (amount > serviceConsumerFunds) {
                revert InsufficientConsumerFunds(CODE_INSUFFICIENT_CONSUMER_FUNDS, amount, serviceConsumerFunds);
            }
            serviceConsumerFunds -= amount;
            serviceProviderFunds += amount;
        }
        // The id stays in usedTokenIds forever; only the redemption slot is freed.
        soonExpiringTokenId = 0;
        soonExpiringTokenIdTimeout = 0;

        emit TokenRedeemed(tokenId, requestCount, amount);
    }

    /// @notice Sends all of the provider's funds to the provider (zero is allowed and sends nothing).
    function payoutForServiceProvider() external onlyServiceProvider {
        uint256 amount = serviceProviderFunds;
        serviceProviderFunds = 0;
        emit PaidOut(serviceProvider, amount);
        _send(serviceProvider, amount);
    }

    /// @notice Starts the consumer's termination; it can be finalized after terminationTimeout.
    /// The provider is expected to start a final redemption meanwhile.
    function startCloseThroughServiceConsumer() external onlyServiceConsumer notTerminated {
        if (terminationStartedAt != 0) revert TerminationAlreadyStarted(CODE_TERMINATION_ALREADY_STARTED);
        terminationStartedAt = block.timestamp;
        emit TerminationStarted(block.timestamp, _saturatingAdd(block.timestamp, terminationTimeout));
    }

    /// @notice Ends the consumer's termination after its timeout, unless a redemption is still
    /// within its grace period (the provider must get the chance to redeem the final token).
    function finalizeCloseThroughServiceConsumer() external onlyServiceConsumer notTerminated {
        if (terminationStartedAt == 0) revert TerminationNotStarted(CODE_TERMINATION_NOT_STARTED);
        uint256 timeoutAt = _saturatingAdd(terminationStartedAt, terminationTimeout);
        if (block.timestamp < timeoutAt) {
            revert TerminationTimeoutNotPassed(CODE_TERMINATION_TIMEOUT_NOT_PASSED, timeoutAt, block.timestamp);
        }
        if (soonExpiringTokenId != 0 && block.timestamp < soonExpiringTokenIdTimeout) {
            revert RedemptionInProgress(CODE_REDEMPTION_IN_PROGRESS);
        }
        _terminate();
    }

    /// @notice The provider closes the channel at once; both parties get their funds.
    function closeThroughServiceProvider() external onlyServiceProvider notTerminated {
        _terminate();
    }

    /// Marks the channel terminated, zeroes both balances, then pays them out.
    function _terminate() private {
        uint256 consumerPayout = serviceConsumerFunds;
        uint256 providerPayout = serviceProviderFunds;
        terminated = true;
        serviceConsumerFunds = 0;
        serviceProviderFunds = 0;
        emit Terminated(msg.sender, consumerPayout, providerPayout);
        _send(serviceConsumer, consumerPayout);
        _send(serviceProvider, providerPayout);
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
        bytes32 structHash = keccak256(abi.encode(PAYMENT_TOKEN_TYPEHASH, serviceConsumer, tokenId, requestCount));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
        return ecrecover(digest, v, r, s); // address(0) on failure; serviceConsumer is never 0
    }

    /// requestCount * costPerRequest, saturated at 2^256-1 (which no deposit can ever cover, so
    /// an overflowing count fails as InsufficientConsumerFunds instead of a panic).
    function _tokenValue(uint256 requestCount) private view returns (uint256) {
        if (requestCount > type(uint256).max / costPerRequest) return type(uint256).max;
        return requestCount * costPerRequest;
    }

    /// a + b, saturated at 2^256-1: an absurdly long timeout then simply never passes.
    function _saturatingAdd(uint256 a, uint256 b) private pure returns (uint256) {
        unchecked {
            uint256 c = a + b;
            return c < a ? type(uint256).max : c;
        }
    }
}
