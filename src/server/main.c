/* paychand: the Payment Server daemon. Configuration in config.h; the
 * parts in server.h. SIGTERM/SIGINT: stop accepting, finish requests in
 * flight, flush storage, exit 0; exit 1 when the node or the store turned
 * out to belong to another chain (found in the background, readiness.h). */
#include <signal.h>
#include <stdio.h>

#include "core/runtime/logger.h"
#include "core/runtime/stop_signals.h"
#include "server/config.h"
#include "server/server.h"

int main(int argc, char **argv)
{
    pc_config cfg;
    pc_error err;
    int rc = pc_config_load(&cfg, argc, argv, &err);
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "paychand: %s\n(see paychand --help)\n", err.message);
        pc_config_free(&cfg);
        return rc < 0 ? 2 : 0;
    }
    pc_logger_set_level(cfg.log_level);
    pc_logger_set_json(cfg.log_json);

    sigset_t stop_signals;
    pc_stop_signals_block(&stop_signals); /* before any thread starts */

    pc_server server;
    if (pc_server_start(&server, &cfg, &err) != 0) {
        PC_LOG_E("cannot start: %s (code %d)", err.message, err.code);
        pc_config_free(&cfg);
        return 1;
    }
    int sig = pc_stop_signals_wait(&stop_signals);
    int failed = pc_server_failed(&server);
    if (failed)
        PC_LOG_I("stopping: cannot serve this chain (see above)");
    else
        PC_LOG_I("signal %d: finishing requests in flight and stopping", sig);
    pc_server_stop(&server);
    pc_config_free(&cfg);
    PC_LOG_I("stopped");
    return failed ? 1 : 0;
}
