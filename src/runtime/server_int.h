/* moqc runtime — what ws_server.c needs from server.c (internal). */
#ifndef MOQC_RUNTIME_SERVER_INT_H
#define MOQC_RUNTIME_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "moqc/clock.h"
#include "moqc/endpoint.h"
#include "moqc/transport.h"

/* Bind a moq-lite session to an established transport (takes the reference). */
void moqc__server_start_session(moqc_server *s, moqc_transport *t);
/* The moq versions (ALPNs) the server speaks, in preference order. */
const char *const *moqc__server_versions(const moqc_server *s, size_t *n);
/* The application's on_connect verdict for a request (200 when it has none). */
uint16_t moqc__server_on_connect(moqc_server *s, const moqc_server_connect *req);
moqc_clock *moqc__server_clock(moqc_server *s);

#endif
