/* install_check.c: built by tests/client/install_check.sh against an installed
 * libpaychan with only `pkg-config --cflags --libs paychan`: creates a client
 * for a dev key and prints its address (nothing is sent); a non-blocking call
 * is begun and abandoned, so paychan.h's curl/curl.h must come with the flags. */
#include <stdio.h>

#include <paychan.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DEV_KEY_HEX\n", argv[0]);
        return 2;
    }
    paychan_config cfg = {.server_url = "http://127.0.0.1:1", .dev_key_hex = argv[1]};
    paychan_client *c;
    paychan_error err;
    if (paychan_client_create(&cfg, &c, &err) != 0) {
        fprintf(stderr, "paychan_client_create: %d %s\n", err.code, err.message);
        return 1;
    }
    paychan_provider_terms terms = {"1", 60, 60};
    paychan_payment_headers h = {"0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                                 "0x5fbdb2315678afecb367f032d93f642f64180aa3", "1", "1", "0x00"};
    paychan_call *call = NULL;
    if (paychan_set_provider_terms(c, &terms, &err) != 0 ||
        !(call = paychan_validate_payment_begin(c, &h, &err))) {
        fprintf(stderr, "paychan_validate_payment_begin: %d %s\n", err.code, err.message);
        return 1;
    }
    CURL *easy = paychan_call_easy(call);
    paychan_call_free(call);
    if (!easy)
        return 1;
    printf("%s\n", paychan_client_address(c));
    paychan_client_destroy(c);
    return 0;
}
