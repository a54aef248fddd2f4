/* anvil.c (test support): see anvil.h. */
#include "support/anvil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/chain/rpc.h"
#include "mediator/mediator_artifact.h"
#include "support/child.h"

#define READY_DEADLINE_MS 10000
#define STOP_GRACE_MS 3000
#define PORT_ATTEMPTS 5

static int deploy_factory(pc_test_anvil *a);

struct pc_test_anvil {
    pid_t pid;
    char url[64];
    pc_rpc *rpc;
    unsigned block_time; /* 0 = instant mining */
};

/* anvil's accounts for the mnemonic "test test ... junk", m/44'/60'/0'/0/i. */
static const char *const dev_keys[10] = {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};
static const char *const dev_addresses[10] = {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
};

void pc_test_dev_key(int index, uint8_t key[32])
{
    if (index < 0 || index > 9 || pc_hex_decode(dev_keys[index], key, 32) != 0)
        abort(); /* a bug in the test itself */
}

void pc_test_dev_address(int index, pc_address *addr)
{
    if (index < 0 || index > 9 || pc_address_parse(dev_addresses[index], addr) != 0)
        abort();
}

/* ---- process control ----------------------------------------------------------------- */

static const char *anvil_path(void)
{
    const char *env = getenv("PAYCHAN_ANVIL");
    return env && *env ? env : PAYCHAN_ANVIL_DEFAULT;
}

/* Polls eth_chainId until it answers the expected id. 0 ready, 1 anvil
 * exited (maybe it lost the port), -1 timeout or wrong chain. */
static int wait_ready(pc_test_anvil *a, uint64_t chain_id)
{
    int64_t deadline = pc_test_now_ms() + READY_DEADLINE_MS;
    pc_error err = {0};
    while (pc_test_now_ms() < deadline) {
        uint64_t got;
        if (pc_rpc_chain_id(a->rpc, &got, &err) == 0) {
            if (got == chain_id)
                return 0;
            fprintf(stderr, "anvil answers chain id %llu, expected %llu\n",
                    (unsigned long long)got, (unsigned long long)chain_id);
            return -1;
        }
        if (waitpid(a->pid, NULL, WNOHANG) == a->pid) {
            a->pid = -1;
            return 1;
        }
        pc_test_sleep_ms(10);
    }
    fprintf(stderr, "anvil not ready within %d ms: %s\n", READY_DEADLINE_MS, err.message);
    return -1;
}

/* One attempt on one free port: 0 ready, 1 retry with another port, -1 give
 * up. extra: further arguments, NULL-terminated (at most 4). */
static int start_once(pc_test_anvil *a, const char *chain_id, char *const *extra,
                      uint64_t chain_id_value, int fixed_port)
{
    int port_value = fixed_port ? fixed_port : pc_test_free_port();
    if (port_value < 0) {
        perror("anvil: no free port");
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", port_value);
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%d", port_value);
    char *argv[17] = {(char *)anvil_path(), "--silent", "--host", "127.0.0.1", "--port", port,
                      "--chain-id", (char *)chain_id, "--mnemonic", PC_TEST_MNEMONIC,
                      "--accounts", "10"};
    for (int i = 0; i < 4 && extra[i]; i++)
        argv[12 + i] = extra[i];
    pc_rpc_options ro = {.connect_timeout_ms = 500};
    pc_error err = {0};
    a->rpc = pc_rpc_create(a->url, &ro, &err); /* short timeouts: only ever local */
    if (!a->rpc) {
        fprintf(stderr, "anvil: %s\n", err.message);
        return -1;
    }
    a->pid = pc_test_spawn(argv, NULL, -1);
    if (a->pid < 0) {
        perror("anvil: fork");
        pc_rpc_destroy(a->rpc);
        a->rpc = NULL;
        return -1;
    }
    int ready = wait_ready(a, chain_id_value);
    if (ready != 0) {
        if (a->pid > 0)
            pc_test_kill_and_reap(a->pid, SIGTERM, STOP_GRACE_MS);
        a->pid = -1;
        pc_rpc_destroy(a->rpc);
        a->rpc = NULL;
    }
    return ready;
}

static void stop_tracked(void *a)
{
    pc_test_anvil_stop(a);
}

pc_test_anvil *pc_test_anvil_start(const pc_test_anvil_options *opts)
{
    pc_test_anvil_options o = {0};
    if (opts)
        o = *opts;
    uint64_t chain_id = o.chain_id ? o.chain_id : 31337;
    char chain_text[24], block_time[16], timestamp[24];
    char *extra[5] = {0}, **e = extra;
    snprintf(chain_text, sizeof chain_text, "%llu", (unsigned long long)chain_id);
    snprintf(block_time, sizeof block_time, "%u", o.block_time);
    snprintf(timestamp, sizeof timestamp, "%llu", (unsigned long long)o.genesis_timestamp);
    if (o.block_time) {
        *e++ = "--block-time";
        *e++ = block_time;
    }
    if (o.genesis_timestamp) {
        *e++ = "--timestamp";
        *e++ = timestamp;
    }
    if (access(anvil_path(), X_OK) != 0) {
        fprintf(stderr, "anvil binary %s not executable (set PAYCHAN_ANVIL)\n", anvil_path());
        return NULL;
    }
    pc_test_anvil *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->pid = -1;
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        int r = start_once(a, chain_text, extra, chain_id, o.port);
        if (r == 0) {
            pc_test_track(a, stop_tracked);
            a->block_time = o.block_time;
            if (!o.without_factory && deploy_factory(a) != 0) {
                fprintf(stderr, "anvil: deploying the MediatorFactory failed\n");
                pc_test_anvil_stop(a);
                return NULL;
            }
            return a;
        }
        if (r < 0)
            break;
    }
    fprintf(stderr, "anvil (%s) did not start\n", anvil_path());
    free(a);
    return NULL;
}

const char *pc_test_anvil_url(const pc_test_anvil *a)
{
    return a->url;
}

void pc_test_anvil_stop(pc_test_anvil *a)
{
    if (!a)
        return;
    pc_test_untrack(a);
    if (a->pid > 0)
        pc_test_kill_and_reap(a->pid, SIGTERM, STOP_GRACE_MS);
    pc_rpc_destroy(a->rpc);
    free(a);
}

/* ---- chain control ------------------------------------------------------------------ */

/* Calls method with params (stolen; NULL = []) and discards the result. */
static int call_params(pc_test_anvil *a, const char *method, json_t *params)
{
    json_t *result;
    pc_error err = {0};
    if (pc_rpc_call(a->rpc, method, params, &result, &err) != 0) {
        fprintf(stderr, "anvil %s failed: %s\n", method, err.message);
        return -1;
    }
    json_decref(result);
    return 0;
}

int pc_test_anvil_rpc(pc_test_anvil *a, const char *method, const char *params_json)
{
    json_t *params = NULL;
    if (params_json) {
        json_error_t jerr;
        params = json_loads(params_json, 0, &jerr);
        if (!params) {
            fprintf(stderr, "anvil %s: bad params %s: %s\n", method, params_json, jerr.text);
            return -1;
        }
    }
    return call_params(a, method, params);
}

/* Deploys MediatorFactory from dev account 0 (unlocked in anvil) through the deterministic
 * deployment proxy, as devnet/start.sh does, and mines it at once. */
static int deploy_factory(pc_test_anvil *a)
{
    pc_address from;
    char from_text[PC_ADDRESS_TEXT_LEN];
    pc_test_dev_address(0, &from);
    pc_address_format(&from, from_text);
    size_t n = strlen(pc_mediator_factory_bytecode_hex);
    char *data = malloc(n + 64 + 1);
    if (!data)
        return -1;
    memcpy(data, "0x", 2);
    memset(data + 2, '0', 64); /* salt 0 */
    memcpy(data + 66, pc_mediator_factory_bytecode_hex + 2, n - 1); /* with its NUL */
    json_t *params = json_pack("[{s:s,s:s,s:s}]", "from", from_text, "to",
                               "0x4e59b44847b379578588920ca78fbf26c0b4956c", "data", data);
    free(data);
    if (call_params(a, "eth_sendTransaction", params) != 0)
        return -1;
    if (a->block_time && pc_test_anvil_mine(a) != 0)
        return -1;
    /* anvil mines "instantly" but not before eth_sendTransaction returns:
     * wait until the factory's code is there, so a test's own
     * pc_mediator_factory_ensure never races this deployment. */
    for (int i = 0; i < 500; i++) {
        json_t *code = NULL;
        pc_error err;
        if (pc_rpc_call(a->rpc, "eth_getCode",
                        json_pack("[ss]", pc_mediator_factory_address_hex, "latest"), &code,
                        &err) == 0) {
            int there = json_is_string(code) && strlen(json_string_value(code)) > 2;
            json_decref(code);
            if (there)
                return 0;
        }
        pc_test_sleep_ms(20);
    }
    return -1;
}

int pc_test_anvil_increase_time(pc_test_anvil *a, uint64_t seconds)
{
    if (call_params(a, "evm_increaseTime", json_pack("[I]", (json_int_t)seconds)) != 0)
        return -1;
    return pc_test_anvil_mine(a);
}

int pc_test_anvil_mine(pc_test_anvil *a)
{
    return call_params(a, "evm_mine", NULL);
}

int pc_test_anvil_set_balance(pc_test_anvil *a, const pc_address *addr, const pc_u256 *wei)
{
    char address[PC_ADDRESS_TEXT_LEN], amount[PC_U256_HEX_LEN];
    pc_address_format(addr, address);
    pc_u256_to_hex(wei, amount);
    return call_params(a, "anvil_setBalance", json_pack("[ss]", address, amount));
}

int pc_test_anvil_set_code(pc_test_anvil *a, const pc_address *addr, const uint8_t *code,
                           size_t len)
{
    char address[PC_ADDRESS_TEXT_LEN];
    char *hex = malloc(2 * len + 3);
    if (!hex)
        return -1;
    pc_address_format(addr, address);
    pc_hex_encode(code, len, hex);
    int ret = call_params(a, "anvil_setCode", json_pack("[ss]", address, hex));
    free(hex);
    return ret;
}
