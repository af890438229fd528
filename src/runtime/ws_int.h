/* moqc runtime — the WebSocket glue shared by ws_server.c and ws_client.c
 * (internal; wslay is used only in src/runtime). */
#ifndef MOQC_RUNTIME_WS_INT_H
#define MOQC_RUNTIME_WS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "moqc/clock.h"
#include "moqc/http.h"
#include "moqc/qmux.h"
#include "moqc/quic.h"
#include "moqc/transport.h"

#define WS_MAX_MESSAGE (64u << 10) /* larger than any QMux frame or record */

typedef struct wsconn {
  moqc_http_upgraded *u; /* server side: the upgraded HTTP connection */
  moqc_http_upconn *cu;  /* client side: our upgraded connection */
  wslay_event_context_ptr ws;
  moqc_qmux *q;
  moqc_clock *clock;
  moqc_timer ping;
  moqc_timer flush; /* zero-delay: close checks outside QMux's own calls */
  uint64_t last_recv;
  const uint8_t *in; /* bytes being fed to wslay_event_recv */
  size_t in_len;
  int busy;       /* nested calls in progress */
  bool in_recv;   /* inside wslay_event_recv: send after it returns */
  bool closing;   /* we asked the pipe to close */
  bool dead;      /* the TCP connection is gone: free when not busy */
  bool qmux_gone; /* moqc_qmux_io_closed was called */
  /* QMux asked to close: the Close frame waits until the messages queued
   * before it are out (wslay sends control frames ahead of data, and nothing
   * after a Close: QMux's CONNECTION_CLOSE, with the MoQ code and reason,
   * would be lost). */
  bool close_wanted;
  uint16_t close_status;
  uint8_t close_len;
  char close_reason[123];     /* a Close frame's reason fits a control frame */
  struct moqc__ws_dial *dial; /* client: the handshake in progress */
} wsconn;

/* The pipe callbacks (arg: the wsconn). */
extern const moqc_http_upgrade_cbs moqc__ws_pipe_cbs;
/* A new glue object with a wslay context of either side; NULL on OOM. */
wsconn *moqc__ws_new(moqc_clock *clock, bool server);
/* Once u or cu is set: the QMux connection over it, keep-alive started.
 * *t is the transport user's reference. */
int moqc__ws_start(wsconn *w, moqc_qmux_version qv, const char *alpn, const char *path,
                   const char *remote, bool server, moqc_transport **t);
/* Close the pipe (flushing what is queued) and end QMux. */
void moqc__ws_close_tcp(wsconn *w);
/* Free once dead and not inside one of its calls. */
void moqc__ws_free_maybe(wsconn *w);

/* ---- client (ws_client.c) ---- */

typedef struct moqc__ws_dial moqc__ws_dial;
/* The handshake's result: MOQC_OK with the transport (the caller's reference),
 * or an error and a message. Called once, from the loop. */
typedef void (*moqc__ws_dial_fn)(void *ctx, int err, const char *msg, moqc_transport *t);
/* ws://host:port<target> (wss:// with tls: verified as that says), offering
 * qmux-01.<v> then qmux-00.<v> for each version. MOQC_OK with *out (valid
 * until the callback or the cancel), MOQC_ERR_INVAL, MOQC_ERR_NOMEM,
 * MOQC_ERR_IO, MOQC_ERR_TLS (bad CA file or pin: err says why). */
int moqc__ws_dial_start(struct uv_loop_s *loop, moqc_clock *clock, const char *host, uint16_t port,
                        const moqc_quic_tls_client *tls, const char *target,
                        const char *const *versions, size_t n_versions, uint64_t timeout_ms,
                        moqc__ws_dial_fn cb, void *ctx, moqc__ws_dial **out, char *err,
                        size_t err_cap);
/* Give up before the callback; no callback follows. */
void moqc__ws_dial_cancel(moqc__ws_dial *d);

#endif
