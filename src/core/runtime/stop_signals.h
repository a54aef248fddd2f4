/* stop_signals.h: how every paychan daemon (paychand, paychan-proxy, the
 * example services) learns it should stop. SIGTERM and SIGINT are blocked
 * in the calling thread before any other thread starts, so every thread
 * inherits the mask and only the thread that calls pc_stop_signals_wait
 * ever sees them (no async-signal handler, no flag polled). SIGPIPE is
 * ignored: a peer closing a socket is an error return, not a death. */
#ifndef PAYCHAN_CORE_STOP_SIGNALS_H
#define PAYCHAN_CORE_STOP_SIGNALS_H

#include <signal.h>

/* Blocks SIGTERM and SIGINT in the calling thread and ignores SIGPIPE;
 * fills *set with the two stop signals for pc_stop_signals_wait.
 * Precondition: called from main before any thread is created. */
void pc_stop_signals_block(sigset_t *set);

/* Waits until one of the signals of set (from pc_stop_signals_block)
 * arrives; returns its number. */
int pc_stop_signals_wait(const sigset_t *set);

#endif
