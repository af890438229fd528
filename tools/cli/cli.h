/* moqc (command-line tool): internal interfaces between its files.
 *
 *   main.c       flags, the connection, the event loop, exit codes
 *   publish.c    `moqc publish`: stdin lines -> frames
 *   subscribe.c  `moqc subscribe` and the ordered track reader shared with clock
 *   announced.c  `moqc announced`
 *   clock.c      `moqc clock publish|subscribe` (moq-dev clock example wire format)
 *   media_*.c    `moqc publish|subscribe --format fmp4` (hang media, FFmpeg; media.h)
 *
 * Every command runs on one libuv loop with one moqc_uv env and one local
 * origin: a publisher publishes into it (the session offers it to the relay),
 * a subscriber lets the session fill it with the relay's announcements.
 */
#ifndef MOQC_TOOLS_CLI_H
#define MOQC_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "moqc/endpoint.h"
#include "moqc/model.h"
#include "moqc/path.h"

#define CLI_MAX_VERSIONS 16

typedef struct cli cli;

typedef struct cli_cmd {
  const char *name;
  bool publishes;            /* the session gets the local origin as its publish origin */
  bool subscribes;           /* ... as its subscribe origin */
  int (*start)(cli *c);      /* before connecting: local objects (0 or -1) */
  void (*connected)(cli *c); /* the session is up */
  void (*stop)(cli *c);      /* free the command's objects (idempotent) */
  /* Optional: SIGINT/SIGTERM while connected (default: exit 0 at once). */
  void (*interrupt)(cli *c);
} cli_cmd;

struct cli {
  /* options */
  const char *url;
  const char *broadcast;
  const char *track;
  const char *prefix;
  const char *mode;      /* clock: "publish" / "subscribe" */
  uint64_t count;        /* 0 = unlimited */
  uint64_t group_frames; /* publish: frames per group */
  bool datagram;         /* publish: groups flagged datagram (moqc_group_producer_set_datagram) */
  uint64_t start_group;  /* publish: first sequence; subscribe: first group wanted */
  bool start_group_set;
  uint64_t wait_ns; /* subscribe: wait for the announcement */
  bool wait_set;
  uint64_t reorder_ms;         /* subscribe: how long a gap in sequences may stay open */
  uint64_t drain_ns;           /* publish: wait for delivery at EOF */
  bool wait_subscriber;        /* publish: read stdin only once subscribed */
  bool push;                   /* publish: IETF PUBLISH of the track once connected */
  uint64_t wait_subscriber_ns; /* ... and fail if nobody subscribed within this */
  uint64_t timeout_ms;         /* connect */
  bool websocket_disabled;     /* --websocket-enabled false */
  uint64_t websocket_delay_ms; /* --websocket-delay (0 = the library's 200 ms) */
  const char *auth_token;      /* --auth-token: IETF SETUP AUTHORIZATION TOKEN */
  const char *format;          /* publish/subscribe: "lines" (default) or "fmp4" (media_*.c) */
  bool realtime;               /* publish --format fmp4: pace by timestamps */
  const char *frame_log;       /* subscribe --format fmp4: the catalog and every frame received */
  const char *latency_log;     /* --format fmp4: "<pts_us> <CLOCK_REALTIME ns>" per video frame */
  const char *versions[CLI_MAX_VERSIONS];
  size_t n_versions;
  moqc_quic_tls_client tls;

  /* runtime */
  const cli_cmd *cmd;
  uv_loop_t loop;
  moqc_uv *uv;
  moqc_origin *origin;
  moqc_client *client;
  uv_signal_t sigint, sigterm;
  uv_timer_t stop_timer;
  bool connected;
  bool finishing;   /* cli_finish called */
  bool interrupted; /* SIGINT/SIGTERM */
  int exit_code;
  void *state; /* the command's */
};

/* End the program with code (the first call wins): prints "moqc: <msg>" on
 * stderr when fmt is given, then tears everything down from the loop. */
void cli_finish(cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The session (NULL until connected / after it ended). */
moqc_session *cli_session(cli *c);
moqc_env *cli_env(cli *c);
/* c->broadcast normalised into path; -1 after cli_finish (exit 2) if it is invalid. */
int cli_broadcast_path(cli *c, char path[MOQC_PATH_MAX_LEN + 1]);
/* Publish broadcast c->broadcast (normalised) with one track c->track into the
 * client's origin; *bp / *tp receive the producers (the caller deletes them,
 * also on failure). 0, or -1 after cli_finish with a clear message. */
int cli_publish_track(cli *c, moqc_broadcast_producer **bp, moqc_track_producer **tp);

extern const cli_cmd cli_cmd_publish;
extern const cli_cmd cli_cmd_subscribe;
extern const cli_cmd cli_cmd_announced;
extern const cli_cmd cli_cmd_clock_publish;
extern const cli_cmd cli_cmd_clock_subscribe;

/* ---- ordered track reader (subscribe.c) -------------------------------------
 * moqc_ordered_reader (moqc/ordered.h) with logging and stdout flushing. Reads a track consumer and hands frames over group by group in sequence
 * order, so concurrent group streams print as one ordered sequence of lines:
 * group `start` first (MOQC_GROUP_NONE: whichever arrives first), then each
 * next sequence; a group above a missing one waits at most reorder_ms before
 * the gap is skipped. A group whose hand-over started is finished first. */
typedef struct cli_reader cli_reader;
/* Return false to stop (no more callbacks). */
typedef bool (*cli_reader_frame_fn)(void *ctx, uint64_t group, size_t index, const uint8_t *p,
                                    size_t n);
/* The track ended: err MOQC_ERR_CLOSED (clean) or the error; code = wire code. */
typedef void (*cli_reader_end_fn)(void *ctx, int err, uint64_t code);
/* Takes ownership of tc. NULL on OOM (tc deleted). */
cli_reader *cli_reader_new(uv_loop_t *loop, moqc_track_consumer *tc, uint64_t start,
                           uint64_t reorder_ms, cli_reader_frame_fn on_frame,
                           cli_reader_end_fn on_end, void *ctx);
void cli_reader_del(cli_reader *r);
/* Why the track ended (moqc_track_consumer_end_reason), for on_end. */
moqc_end_reason cli_reader_end_reason(const cli_reader *r);

/* ---- broadcast waiter (subscribe.c) -----------------------------------------
 * Waits for `path` to be announced in the origin, then calls on_active with a
 * broadcast consumer (owned by the callee); on_ended when it goes away. */
typedef struct cli_waiter cli_waiter;
typedef void (*cli_waiter_fn)(void *ctx, moqc_broadcast_consumer *bc, bool active);
cli_waiter *cli_waiter_new(moqc_origin *o, const char *path, cli_waiter_fn fn, void *ctx);
void cli_waiter_del(cli_waiter *w);

/* token.c: `moqc token ...` (argv[0] = "token"); returns the exit code. */
int cli_token_main(int argc, char **argv);

#endif
