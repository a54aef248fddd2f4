/* install_check.c: built by tests/client/install_check.sh against an installed
 * libpaychan with only `pkg-config --cflags --libs paychan`: creates a client
 * for a dev key and prints its address (nothing is sent). */
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
    printf("%s\n", paychan_client_address(c));
    paychan_client_destroy(c);
    return 0;
}
