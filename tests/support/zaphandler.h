/*
 * A ZAP handler thread for tests (rfc 27): a REP bound to
 * inproc://zeromq.zap.01 in the given context, answering each request with
 * the test's own callback until stopped. Start returns once the handler is
 * bound, so a handshake that follows is put to it.
 */
#ifndef ZMTLS_TEST_ZAPHANDLER_H
#define ZMTLS_TEST_ZAPHANDLER_H

#include <pthread.h>

/* Reads one request from rep and sends its reply (the handler's thread). */
typedef void (*tu_zap_answer_fn)(void *arg, void *rep);

typedef struct tu_zap_handler {
    void *ctx;
    void *ctl; /* the test's side of the control pair */
    char ctl_endpoint[64];
    pthread_t thread;
    tu_zap_answer_fn answer;
    void *arg;
} tu_zap_handler_t;

void tu_zap_handler_start(tu_zap_handler_t *h, void *ctx, tu_zap_answer_fn answer,
                          void *arg);
/* Stops the thread and closes its sockets. */
void tu_zap_handler_stop(tu_zap_handler_t *h);

#endif
